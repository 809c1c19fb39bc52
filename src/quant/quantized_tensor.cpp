#include "hifp8/quant/quantized_tensor.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>

#include "hifp8/error.h"
#include "hifp8/kernel/array_ops.h"
#include "quant/scaled_runs.h"

namespace hifp8 {
namespace {

std::string position_string(size_t flat, std::span<const int64_t> shape) {
  std::string index;
  size_t rest = flat;
  for (size_t d = shape.size(); d-- > 0;) {
    const auto extent = static_cast<size_t>(shape[d]);
    index = std::to_string(rest % extent) + (index.empty() ? "" : ", ") + index;
    rest /= extent;
  }
  return "[" + index + "] (flat index " + std::to_string(flat) + ")";
}

float scale_for(float amax, float target) {
  if (amax == 0.0f) return 1.0f;  // all-zero group: any scale decodes to zeros; 1 keeps files tidy
  return std::max(amax / target, FLT_MIN);
}

// NaN -> 0, +-Inf -> +-(largest finite magnitude in the tensor).
std::vector<float> clamp_nonfinite(std::span<const float> data, float finite_amax) {
  std::vector<float> clean(data.begin(), data.end());
  for (float& x : clean) {
    if (std::isnan(x)) x = 0.0f;
    else if (std::isinf(x)) x = std::copysign(finite_amax, x);
  }
  return clean;
}

float resolve_target(const FormatInfo& format, float requested) {
  const float target = requested == 0.0f ? default_target(format) : requested;
  if (!(target > 0.0f) || !(target <= format.max_finite))
    throw Error("quantization target " + std::to_string(target) + " is outside (0, " +
                std::to_string(format.max_finite) + "] for format " + std::string(format.name));
  return target;
}

// Scale row R's scales from the amax of the finite values of each of its groups.
void dynamic_scales(const detail::ScaledRuns& runs, size_t R, const float* x, float target, int threads, float* scales) {
  float* row = scales + runs.first_scale(R);
  std::fill(row, row + runs.scales_per_row(), 0.0f);
  runs.for_each_segment(R, [&](size_t s, size_t offset, size_t length) {
    scales[s] = std::max(scales[s], kernel::amax(x + offset, length, threads).amax);
  });
  for (size_t j = 0; j < runs.scales_per_row(); ++j) row[j] = scale_for(row[j], target);
}

}  // namespace

size_t numel(std::span<const int64_t> shape) {
  size_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw Error("negative dimension in shape");
    n *= static_cast<size_t>(d);
  }
  return n;
}

float default_target(const FormatInfo& format) {
  if (format.id == FormatId::hif8 || format.id == FormatId::hif8_rank) return kHif8DefaultTarget;
  return format.max_finite;
}

QuantizedTensor quantize(std::span<const float> data, std::span<const int64_t> shape, const FormatInfo& format,
                         const Granularity& granularity, const QuantOptions& options) {
  const size_t n = numel(shape);
  if (data.size() != n)
    throw Error("data has " + std::to_string(data.size()) + " elements but the shape needs " + std::to_string(n));
  const float target = resolve_target(format, options.target);

  QuantizedTensor t;
  t.format = &format;
  t.granularity = granularity;
  t.shape.assign(shape.begin(), shape.end());
  t.scale_shape = granularity.scale_shape(shape);
  t.codes.resize(n);
  t.scales.assign(numel(t.scale_shape), 1.0f);

  std::vector<float> cleaned;
  const kernel::AmaxResult whole = kernel::amax(data.data(), n, options.threads);
  if (whole.first_nonfinite != kernel::AmaxResult::npos) {
    if (options.nonfinite == NonFinitePolicy::error)
      throw Error("non-finite value " + std::to_string(data[whole.first_nonfinite]) + " at " +
                  position_string(whole.first_nonfinite, shape));
    cleaned = clamp_nonfinite(data, whole.amax);
    data = cleaned;
  }

  const detail::ScaledRuns runs(granularity, shape);
  const float* x = data.data();
  runs.parallel(options.threads, [&](size_t R, int threads) {
    if (granularity.kind == GranularityKind::tensor) t.scales[0] = scale_for(options.tensor_amax.value_or(whole.amax), target);
    else dynamic_scales(runs, R, x, target, threads, t.scales.data());
    runs.for_each_segment(R, [&](size_t s, size_t offset, size_t length) {
      kernel::encode_scaled(format, x + offset, t.codes.data() + offset, length, t.scales[s], {Overflow::saturate, threads});
    });
  });
  return t;
}

void dequantize(const QuantizedTensor& t, std::span<float> out, int threads) {
  if (!t.format) throw Error("dequantize: tensor has no format");
  if (t.codes.size() != numel(t.shape))
    throw Error("dequantize: " + std::to_string(t.codes.size()) + " codes do not fit the shape");
  if (out.size() != t.codes.size()) throw Error("dequantize: output has the wrong number of elements");
  if (t.scales.size() != numel(t.granularity.scale_shape(t.shape)))
    throw Error("dequantize: " + std::to_string(t.scales.size()) + " scales do not fit granularity " +
                t.granularity.to_string());
  const detail::ScaledRuns runs(t.granularity, t.shape);
  runs.parallel(threads, [&](size_t R, int inner) {
    runs.for_each_segment(R, [&](size_t s, size_t offset, size_t length) {
      kernel::decode_scaled(*t.format, t.codes.data() + offset, out.data() + offset, length, t.scales[s], inner);
    });
  });
}

void fake_quantize(std::span<const float> data, std::span<const int64_t> shape, const FormatInfo& format,
                   const Granularity& granularity, std::span<const float> scales, std::span<float> out,
                   const QuantOptions& options) {
  const size_t n = numel(shape);
  if (data.size() != n || out.size() != n)
    throw Error("fake_quantize: input has " + std::to_string(data.size()) + " and output " + std::to_string(out.size()) +
                " elements but the shape needs " + std::to_string(n));
  const size_t scale_count = numel(granularity.scale_shape(shape));
  if (!scales.empty() && scales.size() != scale_count)
    throw Error("fake_quantize: " + std::to_string(scales.size()) + " scales given but granularity " +
                granularity.to_string() + " needs " + std::to_string(scale_count) + " for this shape");
  for (size_t i = 0; i < scales.size(); ++i)
    if (!(scales[i] > 0.0f) || std::isinf(scales[i]))
      throw Error("fake_quantize: scale " + std::to_string(i) + " is " + std::to_string(scales[i]) +
                  "; scales must be finite and > 0");
  const float target = resolve_target(format, options.target);
  std::vector<float> computed;
  if (scales.empty()) computed.resize(scale_count);
  const detail::ScaledRuns runs(granularity, shape);
  runs.parallel(options.threads, [&](size_t R, int threads) {
    if (!computed.empty()) dynamic_scales(runs, R, data.data(), target, threads, computed.data());
    const float* s = computed.empty() ? scales.data() : computed.data();
    runs.for_each_segment(R, [&](size_t index, size_t offset, size_t length) {
      kernel::fake_quant(format, data.data() + offset, out.data() + offset, length, s[index], {Overflow::saturate, threads});
    });
  });
}

std::vector<float> dequantize(const QuantizedTensor& t, int threads) {
  std::vector<float> out(t.codes.size());
  dequantize(t, out, threads);
  return out;
}

}  // namespace hifp8
