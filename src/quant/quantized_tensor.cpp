#include "hifp8/quant/quantized_tensor.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>

#include "hifp8/error.h"
#include "hifp8/kernel/array_ops.h"
#include "hifp8/kernel/parallel.h"

namespace hifp8 {
namespace {

constexpr size_t kWorkPerThread = size_t{1} << 15;  // elements; below this, threads cost more than they save

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

struct Quantizer {
  const FormatInfo& format;
  float target;
  kernel::KernelOptions serial{Overflow::saturate, 1, kernel::EncodePath::automatic};

  // One scale for one contiguous run.
  float quantize_run(const float* x, uint8_t* codes, size_t n) const {
    const float scale = scale_for(kernel::amax(x, n, 1).amax, target);
    if (n) kernel::encode_scaled(format, x, codes, n, scale, serial);
    return scale;
  }
};

void quantize_runs(const Quantizer& q, const float* x, QuantizedTensor& t, size_t run_length, int threads) {
  const size_t runs = t.scales.size();
  kernel::parallel_for(runs, threads, [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; ++r)
      t.scales[r] = q.quantize_run(x + r * run_length, t.codes.data() + r * run_length, run_length);
  }, std::max<size_t>(1, kWorkPerThread / std::max<size_t>(1, run_length)));
}

void quantize_blocks(const Quantizer& q, const float* x, QuantizedTensor& t, size_t rows, size_t cols, int threads) {
  const auto br = static_cast<size_t>(t.granularity.block_rows);
  const auto bc = static_cast<size_t>(t.granularity.block_cols);
  const auto block_grid_cols = static_cast<size_t>(t.scale_shape[1]);
  const auto block_grid_rows = static_cast<size_t>(t.scale_shape[0]);
  kernel::parallel_for(block_grid_rows, threads, [&](size_t begin, size_t end) {
    for (size_t bi = begin; bi < end; ++bi) {
      const size_t r0 = bi * br, r1 = std::min(rows, r0 + br);
      for (size_t bj = 0; bj < block_grid_cols; ++bj) {
        const size_t c0 = bj * bc, len = std::min(cols, c0 + bc) - c0;
        float amax = 0.0f;
        for (size_t r = r0; r < r1; ++r) amax = std::max(amax, kernel::amax(x + r * cols + c0, len, 1).amax);
        const float scale = scale_for(amax, q.target);
        t.scales[bi * block_grid_cols + bj] = scale;
        for (size_t r = r0; r < r1; ++r)
          kernel::encode_scaled(q.format, x + r * cols + c0, t.codes.data() + r * cols + c0, len, scale, q.serial);
      }
    }
  }, std::max<size_t>(1, kWorkPerThread / std::max<size_t>(1, br * cols)));
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
  const float target = options.target == 0.0f ? default_target(format) : options.target;
  if (!(target > 0.0f) || !(target <= format.max_finite))
    throw Error("quantization target " + std::to_string(target) + " is outside (0, " +
                std::to_string(format.max_finite) + "] for format " + std::string(format.name));

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

  const Quantizer q{format, target};
  const size_t cols = shape.empty() ? 1 : static_cast<size_t>(shape.back());
  switch (granularity.kind) {
    case GranularityKind::tensor:
      t.scales[0] = scale_for(options.tensor_amax.value_or(whole.amax), target);
      if (n) kernel::encode_scaled(format, data.data(), t.codes.data(), n, t.scales[0], {Overflow::saturate, options.threads});
      break;
    case GranularityKind::channel:
    case GranularityKind::token: quantize_runs(q, data.data(), t, cols, options.threads); break;
    case GranularityKind::group:
      quantize_runs(q, data.data(), t, static_cast<size_t>(granularity.group_size), options.threads);
      break;
    case GranularityKind::block: quantize_blocks(q, data.data(), t, cols ? n / cols : 0, cols, options.threads); break;
  }
  return t;
}

void dequantize(const QuantizedTensor& t, std::span<float> out, int threads) {
  if (!t.format) throw Error("dequantize: tensor has no format");
  if (out.size() != t.codes.size()) throw Error("dequantize: output has the wrong number of elements");
  if (t.scales.size() != numel(t.granularity.scale_shape(t.shape)))
    throw Error("dequantize: " + std::to_string(t.scales.size()) + " scales do not fit granularity " +
                t.granularity.to_string());
  const FormatInfo& f = *t.format;
  const size_t n = t.codes.size();
  const size_t cols = t.shape.empty() ? 1 : static_cast<size_t>(t.shape.back());
  switch (t.granularity.kind) {
    case GranularityKind::tensor:
      kernel::decode_scaled(f, t.codes.data(), out.data(), n, t.scales[0], threads);
      return;
    case GranularityKind::channel:
    case GranularityKind::token:
    case GranularityKind::group: {
      const size_t run = t.granularity.kind == GranularityKind::group ? static_cast<size_t>(t.granularity.group_size) : cols;
      kernel::parallel_for(t.scales.size(), threads, [&](size_t begin, size_t end) {
        for (size_t r = begin; r < end; ++r)
          kernel::decode_scaled(f, t.codes.data() + r * run, out.data() + r * run, run, t.scales[r], 1);
      }, std::max<size_t>(1, kWorkPerThread / std::max<size_t>(1, run)));
      return;
    }
    case GranularityKind::block: {
      const auto br = static_cast<size_t>(t.granularity.block_rows);
      const auto bc = static_cast<size_t>(t.granularity.block_cols);
      const size_t rows = cols ? n / cols : 0;
      const auto grid_cols = static_cast<size_t>(t.scale_shape[1]);
      kernel::parallel_for(rows, threads, [&](size_t begin, size_t end) {
        for (size_t r = begin; r < end; ++r)
          for (size_t bj = 0; bj < grid_cols; ++bj) {
            const size_t c0 = bj * bc, len = std::min(cols, c0 + bc) - c0;
            kernel::decode_scaled(f, t.codes.data() + r * cols + c0, out.data() + r * cols + c0, len,
                                  t.scales[(r / br) * grid_cols + bj], 1);
          }
      }, std::max<size_t>(1, kWorkPerThread / std::max<size_t>(1, cols)));
      return;
    }
  }
}

std::vector<float> dequantize(const QuantizedTensor& t, int threads) {
  std::vector<float> out(t.codes.size());
  dequantize(t, out, threads);
  return out;
}

}  // namespace hifp8
