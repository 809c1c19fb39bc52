#pragma once
// Contiguous-array kernels over any registered format: encode, decode, fake-quant, amax.
// Vectorised (best instruction set found at run time) and multithreaded.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hifp8/format/format.h"

namespace hifp8::kernel {

// Wide element types arrays are encoded from and decoded to.
enum class DType { f32, bf16, f16 };
size_t dtype_size(DType dtype);
std::string_view dtype_name(DType dtype);
DType parse_dtype(std::string_view name);  // "f32"/"float32", "bf16"/"bfloat16", "f16"/"float16"

// Wide conversions (exact widening; narrowing rounds to nearest even), vectorised and threaded.
void widen(const void* in, DType in_dtype, float* out, size_t n, int threads = 0);
void narrow(const float* in, void* out, DType out_dtype, size_t n, int threads = 0);

// Which encoder implementation runs. `automatic` is the fastest exact one for the format; the others
// exist so tests and benchmarks can compare them (each is checked against `scalar` exhaustively).
//   lut:   4096-entry prefix table read with vector gathers (HiF8, both layouts)
//   math:  the rounding in integer vector arithmetic (HiF8 Ascend, FP8, INT8)
//   vperm: HiF8 through small tables held in AVX-512BW registers (both layouts; CPUs with AVX-512BW)
enum class EncodePath { automatic, scalar, lut, math, vperm };
std::string_view encode_path_name(EncodePath path);
bool has_encode_path(const FormatInfo& format, EncodePath path);

struct KernelOptions {
  Overflow overflow = Overflow::plain;
  int threads = 0;  // 0: all cores
  EncodePath path = EncodePath::automatic;
};

void encode(const FormatInfo& format, const float* in, uint8_t* out, size_t n, const KernelOptions& options = {});
// bf16 / f16 input is widened to float32 exactly, so the codes equal those of the float32 values.
void encode(const FormatInfo& format, const void* in, DType in_dtype, uint8_t* out, size_t n,
            const KernelOptions& options = {});

void decode(const FormatInfo& format, const uint8_t* in, float* out, size_t n, int threads = 0);
// Exact for every output dtype: all values of all registered formats are bfloat16 and float16 values
// (HiF8's smallest, 2^-22, is a float16 subnormal).
void decode(const FormatInfo& format, const uint8_t* in, void* out, DType out_dtype, size_t n, int threads = 0);

// Quantization with one scale: codes[i] = encode(in[i] / scale), out[i] = decode(codes[i]) * scale,
// and both at once (fake-quant; in and out may alias). scale must be finite and > 0.
void encode_scaled(const FormatInfo& format, const float* in, uint8_t* codes, size_t n, float scale,
                   const KernelOptions& options = {});
void decode_scaled(const FormatInfo& format, const uint8_t* codes, float* out, size_t n, float scale, int threads = 0);
void fake_quant(const FormatInfo& format, const float* in, float* out, size_t n, float scale,
                const KernelOptions& options = {});

struct AmaxResult {
  float amax = 0.0f;             // max |x| over the finite elements
  size_t first_nonfinite = npos;  // index of the first NaN/Inf, or npos
  static constexpr size_t npos = static_cast<size_t>(-1);
};
AmaxResult amax(const float* in, size_t n, int threads = 0);

// sum a[i] * b[i], vectorised, single-threaded (float32 accumulation in several lanes: the order of
// additions differs from a plain loop).
float dot(const float* a, const float* b, size_t n);
// out[i] = exp((in[i] - shift) * scale), vectorised (Highway's Exp, a few ulp), single-threaded: the
// weights of softmax(logits / T) with shift = max and scale = 1 / T, for the sampler.
void exp_scaled(const float* in, float* out, size_t n, float shift, float scale);
// sum x[i] * decode(codes[i]) without materialising the decoded values (W8 matrix-vector products).
// A NaN code makes the sum NaN, as decoding does.
float dot_codes(const FormatInfo& format, const float* x, const uint8_t* codes, size_t n);
// sum a[i] * b[i] of INT8 values, a[i] in [-127, 127] (activations the INT8 encoder produced), exact
// (int32) for n < 2^16: AVX-512 VNNI where the CPU has it, else a plain loop.
int32_t dot_i8(const int8_t* a, const int8_t* b, size_t n);
// The prefill matmul's building block. A panel holds panel_width() weight rows k-major: row r's
// element k at panel[k * panel_width() + r] (the width is the SIMD target's: 32 with AVX-512, 16 with
// AVX2). panel_tile: y[t * y_stride + r] = sum_k x[t * x_stride + k] * panel[k * width + r] for
// t < tokens (at most 6 a call) and r < valid (<= width), summed in k order; accumulate adds to y
// instead (a product split into k blocks that stay in L1).
size_t panel_width();
void panel_tile(const float* x, size_t x_stride, size_t tokens, const float* panel, size_t n, float* y, size_t y_stride,
                size_t valid, bool accumulate = false);

// The float32 FMA peak of this machine in FLOP/s with `threads` threads, measured over ~0.2 s with the
// widest vectors the CPU has (the baseline for matmul efficiency).
double measure_fma_peak(int threads);
// sum x[i] * w[i] for bfloat16 w.
float dot_bf16(const float* x, const uint16_t* w, size_t n);

// What quantization cost: x is the original, deq the dequantized values, codes the codes they came
// from (same length). NaN/Inf in x propagate into the sums.
struct ErrorSums {
  double sum_x2 = 0, sum_e2 = 0;  // sum of x^2 and of (x - deq)^2
  float max_abs_error = 0;
  uint64_t nonzero = 0;    // x != 0
  uint64_t flushed = 0;    // x != 0 but deq == 0
  uint64_t saturated = 0;  // code of largest magnitude and |x| > |deq|: clipped, not rounded
  void add(const ErrorSums& other);
};
ErrorSums error_sums(const FormatInfo& format, const float* x, const float* deq, const uint8_t* codes, size_t n,
                     int threads = 0);

}  // namespace hifp8::kernel
