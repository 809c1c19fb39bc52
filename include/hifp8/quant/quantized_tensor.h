#pragma once
// A tensor held as 8-bit codes plus float32 scales: x ~= decode(code) * scale, with one scale per
// granularity group. scale = amax(group) / target; target defaults to the format's max finite,
// except HiF8 (see default_target and docs/formats.md).
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "hifp8/format/format.h"
#include "hifp8/format/granularity.h"

namespace hifp8 {

enum class NonFinitePolicy {
  error,  // a NaN/Inf input is an Error naming its position
  clamp,  // NaN -> 0, +-Inf -> +-max code; the scale comes from the finite values
};

struct QuantOptions {
  float target = 0.0f;  // 0: default_target(format)
  NonFinitePolicy nonfinite = NonFinitePolicy::error;
  int threads = 0;  // 0: all cores
  // Tensor granularity only: use this amax instead of the data's (a tensor quantized in row chunks).
  std::optional<float> tensor_amax = std::nullopt;
};

// HiF8's default target, chosen by the SQNR sweep in docs/formats.md (bench/hif8_target_sweep).
inline constexpr float kHif8DefaultTarget = 16.0f;  // 2^4: amax at the top of the 3-mantissa-bit band
float default_target(const FormatInfo& format);

struct QuantizedTensor {
  const FormatInfo* format = nullptr;
  Granularity granularity;
  std::vector<int64_t> shape;
  std::vector<int64_t> scale_shape;
  std::vector<uint8_t> codes;  // row-major, shape
  std::vector<float> scales;   // row-major, scale_shape

  size_t numel() const { return codes.size(); }
};

size_t numel(std::span<const int64_t> shape);

// Throws Error on a shape/data size mismatch, a granularity that does not fit the shape, a bad
// target, or (with NonFinitePolicy::error) a NaN/Inf input.
QuantizedTensor quantize(std::span<const float> data, std::span<const int64_t> shape, const FormatInfo& format,
                         const Granularity& granularity, const QuantOptions& options = {});

std::vector<float> dequantize(const QuantizedTensor& tensor, int threads = 0);

// Fake quantization of a runtime tensor (activations, quantization-aware training):
// out = decode(encode_saturate(x / s)) * s with the scales s of `granularity` — given (`scales`,
// scale_shape(shape) elements, each finite and > 0) or, when `scales` is empty, computed as quantize
// computes them. Unlike quantize, NaN/Inf are not refused: the amax covers the finite values and
// non-finite inputs encode as the format encodes them (Inf saturates), as cuda::fake_quant does.
// in and out may alias. options.nonfinite and options.tensor_amax are not used.
void fake_quantize(std::span<const float> data, std::span<const int64_t> shape, const FormatInfo& format,
                   const Granularity& granularity, std::span<const float> scales, std::span<float> out,
                   const QuantOptions& options = {});
void dequantize(const QuantizedTensor& tensor, std::span<float> out, int threads = 0);

}  // namespace hifp8
