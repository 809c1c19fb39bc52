#pragma once
// The CUDA backend's array kernels (libhifp8_cuda; built when HIFP8_CUDA is on). Every pointer here
// is device memory; `stream` is a cudaStream_t (nullptr: the default stream). Results are bit for
// bit those of the CPU kernels (array_ops.h, quantized_tensor.h): the device code calls the same
// constexpr format definitions. Errors (no device, a failed launch, bad sizes) throw hifp8::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "hifp8/format/format.h"
#include "hifp8/kernel/array_ops.h"
#include "hifp8/format/granularity.h"

namespace hifp8::cuda {

// True when a CUDA device can be used (driver, runtime and at least one device present).
bool available();
// "NVIDIA H100 80GB HBM3, sm_90, 132 SMs" or why none is usable.
std::string describe_device();
// Throws Error naming the CUDA call and its error string when `status` is not cudaSuccess (0).
void check(int status, const char* what);

// Device memory that frees itself. Moves, never copies.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t bytes);
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer();

  void* data() const { return data_; }
  template <class T>
  T* as() const { return static_cast<T*>(data_); }
  size_t bytes() const { return bytes_; }
  void upload(const void* host, size_t bytes, size_t offset = 0);
  void download(void* host, size_t bytes, size_t offset = 0) const;

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

// codes[i] = encode(in[i]) (no scale), in f32/bf16/f16.
void encode(const FormatInfo& format, const void* in, kernel::DType in_dtype, uint8_t* codes, size_t n,
            Overflow overflow, void* stream = nullptr);
// out[i] = decode(codes[i]) as f32/bf16/f16 (exact for every registered format).
void decode(const FormatInfo& format, const uint8_t* codes, void* out, kernel::DType out_dtype, size_t n,
            void* stream = nullptr);

// Max |x| over the finite elements of in[0, n), written as float32 to *amax_out (device memory).
void amax(const void* in, kernel::DType dtype, size_t n, float* amax_out, void* stream = nullptr);

// A [rows, cols] tensor (leading dimensions folded into rows) quantized with `granularity`:
// scale = max(amax(group) / target, FLT_MIN) (1 for an all-zero group), codes = encode_sat(x / scale).
// scales has granularity.scale_shape({rows, cols}) elements. Equal to hifp8::quantize on the CPU.
// Non-finite inputs are not checked here (runtime activations): NaN encodes as the format does.
struct Matrix {
  const void* data;
  kernel::DType dtype;
  int64_t rows, cols;
};
void quantize(const FormatInfo& format, const Matrix& in, const Granularity& granularity, float target,
              uint8_t* codes, float* scales, void* stream = nullptr);
// out = decode(codes) * scale, as `out_dtype` (rounded to nearest even from float32).
void dequantize(const FormatInfo& format, const uint8_t* codes, const float* scales, int64_t rows, int64_t cols,
                const Granularity& granularity, void* out, kernel::DType out_dtype, void* stream = nullptr);
// out = dequantize(quantize(in)) in in's dtype, without writing codes or scales (in and out may alias).
void fake_quant(const FormatInfo& format, const Matrix& in, const Granularity& granularity, float target, void* out,
                void* stream = nullptr);
// out = decode(encode_saturate(in / s)) * s with given scales s (device memory: granularity.scale_shape({rows,
// cols}) float32 values, each finite and > 0; not checked here): static fake quantization, e.g. QAT with
// calibrated scales. Equal to hifp8::fake_quantize with those scales.
void fake_quant_scaled(const FormatInfo& format, const Matrix& in, const Granularity& granularity, const float* scales,
                       void* out, void* stream = nullptr);

}  // namespace hifp8::cuda
