#include "hifp8/calib/smoothing.h"

#include <algorithm>
#include <cmath>

#include "hifp8/error.h"
#include "hifp8/io/checkpoint_inspect.h"

namespace hifp8::calib {
namespace {

// max |W[:, j]| over the given weights (all [out, cols]).
std::vector<float> column_amax(const io::Checkpoint& ckpt, const std::vector<std::string>& weights, size_t cols) {
  std::vector<float> m(cols, 0.0f);
  for (const std::string& name : weights) {
    const std::vector<float> w = io::dequantize_tensor(ckpt, name);
    if (w.size() % cols) throw Error("smoothing: '" + name + "' does not have " + std::to_string(cols) + " columns");
    for (size_t i = 0; i < w.size(); ++i) m[i % cols] = std::max(m[i % cols], std::fabs(w[i]));
  }
  return m;
}

std::vector<float> factors(const std::vector<float>& x, const std::vector<float>& w, float alpha) {
  std::vector<float> s(x.size());
  for (size_t j = 0; j < s.size(); ++j) {
    const double v = std::pow(std::max(double(x[j]), 1e-5), alpha) / std::pow(std::max(double(w[j]), 1e-5), 1.0 - alpha);
    s[j] = float(std::clamp(v, 1e-5, 1e5));
  }
  return s;
}

std::vector<float> inverse(const std::vector<float>& s) {
  std::vector<float> r(s.size());
  for (size_t j = 0; j < s.size(); ++j) r[j] = 1.0f / s[j];
  return r;
}

void multiply_into(std::vector<float>& target, const std::vector<float>& by) {
  if (target.empty()) target.assign(by.size(), 1.0f);
  for (size_t j = 0; j < by.size(); ++j) target[j] *= by[j];
}

}  // namespace

std::map<std::string, TensorScaling> plan_smoothing(const io::Checkpoint& ckpt, const CalibrationResult& calib, float alpha,
                                                    bool full) {
  if (!(alpha >= 0 && alpha <= 1)) throw Error("--smooth-alpha must be in [0, 1]");
  std::map<std::string, TensorScaling> plan;
  // One group: consumers reading the output of `norm` (or, with rows_of, of that linear's rows).
  auto smooth = [&](const std::string& input_module, const std::vector<std::string>& consumers, const std::string& norm,
                    const std::string& rows_of) {
    for (const std::string& c : consumers)
      if (!ckpt.find(c + ".weight")) return;
    const auto stats = calib.channel_amax.find(input_module);
    if (stats == calib.channel_amax.end())
      throw Error("smoothing: calibration never reached '" + input_module + "'");
    std::vector<std::string> weights;
    for (const std::string& c : consumers) weights.push_back(c + ".weight");
    const std::vector<float> s = factors(stats->second, column_amax(ckpt, weights, stats->second.size()), alpha);
    for (const std::string& w : weights) multiply_into(plan[w].columns, s);
    if (!norm.empty()) multiply_into(plan[norm].columns, inverse(s));
    if (!rows_of.empty()) multiply_into(plan[rows_of].rows, inverse(s));
  };
  // o_proj: its input channel (head h, dim i) is value channel (h / group, i), so one factor per
  // value channel, from the statistics of all heads that read it; o's columns *= s, v's rows /= s.
  const nlohmann::json& config = ckpt.config();
  const int64_t heads = config.value("num_attention_heads", int64_t{0});
  const int64_t kv_heads = config.value("num_key_value_heads", heads);
  auto smooth_o = [&](const std::string& p) {
    const auto stats = calib.channel_amax.find(p + "self_attn.o_proj");
    if (stats == calib.channel_amax.end() || heads <= 0 || kv_heads <= 0 || !ckpt.find(p + "self_attn.v_proj.weight")) return;
    const size_t width = stats->second.size(), d = width / size_t(heads), group = size_t(heads / kv_heads);
    const std::vector<float> w = column_amax(ckpt, {p + "self_attn.o_proj.weight"}, width);
    std::vector<float> xv(size_t(kv_heads) * d, 0.0f), wv(xv.size(), 0.0f);
    for (size_t c = 0; c < width; ++c) {
      const size_t v = (c / d) / group * d + c % d;
      xv[v] = std::max(xv[v], stats->second[c]), wv[v] = std::max(wv[v], w[c]);
    }
    const std::vector<float> sv = factors(xv, wv, alpha);
    std::vector<float> so(width);
    for (size_t c = 0; c < width; ++c) so[c] = sv[(c / d) / group * d + c % d];
    multiply_into(plan[p + "self_attn.o_proj.weight"].columns, so);
    multiply_into(plan[p + "self_attn.v_proj.weight"].rows, inverse(sv));
  };
  const int64_t layers = config.value("num_hidden_layers", int64_t{0});
  for (int64_t i = 0; i < layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    smooth(p + "self_attn.q_proj", {p + "self_attn.q_proj", p + "self_attn.k_proj", p + "self_attn.v_proj"},
           p + "input_layernorm.weight", "");
    smooth(p + "mlp.gate_proj", {p + "mlp.gate_proj", p + "mlp.up_proj"}, p + "post_attention_layernorm.weight", "");
    if (full) {
      smooth(p + "mlp.down_proj", {p + "mlp.down_proj"}, "", p + "mlp.up_proj.weight");
      smooth_o(p);
    }
  }
  if (plan.empty()) throw Error("smoothing: no q/k/v or gate/up linears found to smooth");
  return plan;
}

void apply_scaling(const TensorScaling& s, float* data, size_t rows, size_t cols, size_t row_offset) {
  for (size_t r = 0; r < rows; ++r) {
    float* row = data + r * cols;
    if (!s.columns.empty())
      for (size_t j = 0; j < cols; ++j) row[j] *= s.columns[j];
    if (!s.rows.empty()) {
      const float f = s.rows[row_offset + r];
      for (size_t j = 0; j < cols; ++j) row[j] *= f;
    }
  }
}

}  // namespace hifp8::calib
