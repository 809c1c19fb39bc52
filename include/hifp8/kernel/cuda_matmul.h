#pragma once
// Matrix products on the GPU (libhifp8_cuda). Pointers are device memory, bf16 values are uint16_t
// bit patterns, `stream` is a cudaStream_t (nullptr: the default stream).
//
//   matmul_w8a16: y[m, n] = sum_k x[m, k] * decode(W[n, k]) * scale(n, k) (+ bias[n]); 8-bit weights
//                 of any format with tensor/channel/group/block scales, bf16 activations and output.
//                 For decoding (m <= 16 per pass): tensor-core mma with the weights decoded in
//                 registers; memory-bound on the weight bytes.
//   matmul_fp8:   W8A8 E4M3 x E4M3 through cuBLASLt (prefill), per-tensor or per-row/column scales.
//   matmul_bf16:  cuBLAS bf16 (baseline, and the bf16 engine's linears).
#include <cstdint>
#include <vector>

#include "hifp8/format/format.h"
#include "hifp8/format/granularity.h"

namespace hifp8::cuda {

// 8-bit weights laid out for matmul_w8a16: rows padded to a multiple of 16, the reduction dimension
// to a multiple of 64, and within each 64-byte run the bytes interleaved so that one 16-byte load per
// thread feeds four mma steps (see gemv_w8.cu). Build it with pack_w8 from row-major codes.
struct W8Layout {
  int64_t n = 0, k = 0;                // logical shape [n, k]
  int64_t n_padded = 0, k_padded = 0;  // stored shape
};
W8Layout w8_layout(int64_t n, int64_t k);
// Row-major [n, k] codes -> the stored [n_padded, k_padded] bytes (padding holds code 0, which is
// +0.0 in every registered format).
std::vector<uint8_t> pack_w8(const uint8_t* codes, int64_t n, int64_t k);

struct W8Weights {
  const FormatInfo* format = nullptr;
  W8Layout layout;
  const uint8_t* codes = nullptr;  // pack_w8 bytes
  const float* scales = nullptr;   // granularity.scale_shape({n, k}), row-major
  Granularity granularity;         // tensor, channel, group (size % 16 == 0) or block (cols % 16 == 0)
  // True when no code decodes to NaN or Inf (codes_finite): E4M3FN and E5M2 then decode by moving
  // bits instead of through a table. False is always correct.
  bool finite_codes = false;
};
// Whether every one of the n codes decodes to a finite value in `format`.
bool codes_finite(const FormatInfo& format, const uint8_t* codes, size_t n);

// m >= 1 rows of x ([m, k] bf16, rows k apart); y is [m, n] bf16; bias (float, n) may be null.
// Throws Error for k % 4 != 0 or a granularity the kernel does not take.
void matmul_w8a16(const W8Weights& w, const uint16_t* x, int64_t m, uint16_t* y, const float* bias = nullptr,
                  void* stream = nullptr);
// The same with a float32 result (no rounding of the output).
void matmul_w8a16(const W8Weights& w, const uint16_t* x, int64_t m, float* y, const float* bias = nullptr,
                  void* stream = nullptr);

// W8A8 on the packed weights (prefill): E4M3 weights with tensor or channel scales and n % 8 == 0 only.
// quantize_activations_w8 quantizes x ([m, layout.k] bf16) per token to E4M3 codes in the packed k
// order ([m, layout.k_padded]) with scales[m] = max(amax / target, FLT_MIN) (the CPU engine's dynamic
// rule with target default_target(E4M3)); matmul_w8a8 then runs
// cuBLASLt's FP8 GEMM on the FP8 tensor cores into scratch ([m, n] bf16) and writes it with both
// scales (and bias) applied to y ([m, n] float32). n % 8 == 0.
bool w8a8_supported(const W8Weights& w);
void quantize_activations_w8(const uint16_t* x, int64_t m, const W8Layout& layout, float target, uint8_t* codes,
                             float* scales, void* stream = nullptr);
void matmul_w8a8(const W8Weights& w, const uint8_t* x_codes, const float* x_scales, int64_t m, float* y,
                 uint16_t* scratch, const float* bias = nullptr, void* stream = nullptr);

// The whole weight dequantized to row-major bf16 [n, k] (for prefill through a bf16 GEMM).
void dequantize_w8(const W8Weights& w, uint16_t* out, void* stream = nullptr);

// y[m, n] = (sum_k a[m, k] * b[n, k]) * a_scale * b_scale, a and b E4M3 codes (row-major, k contiguous),
// bf16 output. Scales are device float arrays: per tensor (1 element) or per row of a (m) / of b (n).
struct Fp8Operand {
  const uint8_t* codes = nullptr;
  const float* scales = nullptr;
  bool per_row = false;
};
void matmul_fp8(const Fp8Operand& a, const Fp8Operand& b, int64_t m, int64_t n, int64_t k, uint16_t* y,
                void* stream = nullptr);
// Whether cuBLASLt takes per-row scales itself on this GPU (else matmul_fp8 applies them afterwards).
bool fp8_outer_vector_scales_supported();

// y[m, n] = x[m, k] * w[n, k]^T in bf16 with float accumulation (cuBLAS).
void matmul_bf16(const uint16_t* x, const uint16_t* w, int64_t m, int64_t n, int64_t k, uint16_t* y,
                 void* stream = nullptr);
void matmul_bf16(const uint16_t* x, const uint16_t* w, int64_t m, int64_t n, int64_t k, float* y,
                 void* stream = nullptr);

// Batched bf16 products (attention over a prompt): for b < batch, y_b[m, n] = x_b[m, k] w_b^T, with
// w_b row-major [n, k] (w_rows_are_n) or y_b = x_b w_b with w_b row-major [k, n]; every operand has
// its own row stride (ld, elements) and batch stride (elements). float32 output.
struct StridedBf16 {
  const uint16_t* data;
  int64_t ld, batch_stride;
};
void matmul_bf16_batched(const StridedBf16& x, const StridedBf16& w, bool w_rows_are_n, int64_t m, int64_t n,
                         int64_t k, float* y, int64_t ldy, int64_t y_batch_stride, int batch, void* stream = nullptr);

}  // namespace hifp8::cuda
