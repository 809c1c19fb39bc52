#include "hifp8/calib/format_choice.h"

#include <algorithm>
#include <numeric>

#include "hifp8/error.h"
#include "hifp8/io/checkpoint_inspect.h"
#include "hifp8/kernel/array_ops.h"
#include "hifp8/kernel/parallel.h"
#include "hifp8/quant/quantized_tensor.h"

namespace hifp8::calib {
namespace {

// ||X (W - Q)^T||^2 / ||X W^T||^2 for row-major W, Q [out, in] and X [rows, in].
double output_error(const std::vector<float>& w, const std::vector<float>& q, const std::vector<float>& x, size_t in, int threads) {
  const size_t out = w.size() / in, rows = x.size() / in;
  std::vector<double> num(out, 0.0), den(out, 0.0);
  kernel::parallel_for(out, threads, [&](size_t begin, size_t end) {
    std::vector<float> diff(in);
    for (size_t o = begin; o < end; ++o) {
      for (size_t i = 0; i < in; ++i) diff[i] = w[o * in + i] - q[o * in + i];
      for (size_t r = 0; r < rows; ++r) {
        const double e = kernel::dot(x.data() + r * in, diff.data(), in), y = kernel::dot(x.data() + r * in, w.data() + o * in, in);
        num[o] += e * e, den[o] += y * y;
      }
    }
  }, 1);
  const double d = std::accumulate(den.begin(), den.end(), 0.0);
  return d > 0 ? std::accumulate(num.begin(), num.end(), 0.0) / d : 0.0;
}

}  // namespace

std::vector<LayerChoice> choose_formats(const io::Checkpoint& ckpt, const std::vector<std::string>& modules,
                                        const CalibrationResult& calib, const std::vector<const FormatInfo*>& candidates,
                                        size_t keep_bf16, int threads) {
  if (candidates.empty()) throw Error("--formats: no candidate formats");
  std::vector<LayerChoice> choices;
  for (const std::string& module : modules) {
    const auto x = calib.samples.find(module);
    if (x == calib.samples.end() || x->second.empty())
      throw Error("format choice: calibration never reached '" + module + "'");
    const io::Checkpoint::Entry* e = ckpt.find(module + ".weight");
    if (!e || e->info->shape.size() != 2) throw Error("format choice: '" + module + ".weight' is not a 2-D weight");
    const std::vector<float> w = io::dequantize_tensor(ckpt, module + ".weight");
    LayerChoice c{module, nullptr, {}};
    for (const FormatInfo* f : candidates) {
      const QuantizedTensor q = quantize(w, e->info->shape, *f, Granularity::parse("channel"), {0.0f, NonFinitePolicy::error, threads});
      c.errors.push_back(output_error(w, dequantize(q, threads), x->second, size_t(e->info->shape[1]), threads));
    }
    c.format = candidates[size_t(std::min_element(c.errors.begin(), c.errors.end()) - c.errors.begin())];
    choices.push_back(std::move(c));
  }
  // The most sensitive layers (largest best error) stay in bf16.
  std::vector<size_t> order(choices.size());
  std::iota(order.begin(), order.end(), 0);
  auto best = [&](size_t i) { return *std::min_element(choices[i].errors.begin(), choices[i].errors.end()); };
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return best(a) > best(b); });
  for (size_t k = 0; k < std::min(keep_bf16, order.size()); ++k) choices[order[k]].format = nullptr;
  return choices;
}

}  // namespace hifp8::calib
