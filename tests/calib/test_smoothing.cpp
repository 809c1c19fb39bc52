// SmoothQuant: the fold must leave the float model's function unchanged (logits within 1e-5), and a
// smoothed, quantized checkpoint must carry the fold (norm weights divided, static scales of the
// smoothed activations).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "hifp8/calib/smoothing.h"
#include "hifp8/quant/quantized_tensor.h"
#include "hifp8/error.h"
#include "hifp8/eval/perplexity.h"
#include "hifp8/io/checkpoint_inspect.h"
#include "hifp8/pipeline/quantize_checkpoint.h"
#include "hifp8/io/safetensors.h"
#include "hifp8/model/model.h"
#include "support/rewrite_checkpoint.h"
#include "support/shared_data.h"
#include "support/temp_dir.h"

namespace hifp8::calib {
namespace {
namespace fs = std::filesystem;

// A float32 copy of `in` with the plan applied to every tensor it names.
void write_folded(const fs::path& in, const fs::path& out, const std::map<std::string, TensorScaling>& plan) {
  test::rewrite_checkpoint(in, out, io::TensorDType::F32, [&](const std::string& name, std::vector<float>& x, const std::vector<int64_t>& shape) {
    const size_t cols = size_t(shape.back());
    if (const auto it = plan.find(name); it != plan.end()) apply_scaling(it->second, x.data(), x.size() / cols, cols);
  });
}

std::vector<float> all_logits(const fs::path& dir, const std::vector<int32_t>& tokens) {
  const model::Model m = model::Model::load(dir);
  model::KvCache cache = m.new_cache(model::KvDType::f32, int64_t(tokens.size()));
  return m.forward(tokens, cache, true);
}

TEST(Smoothing, FoldLeavesTheFloatModelUnchanged) {
  test::TempDir tmp;
  const fs::path model = test::shared_path("models/stories260K");
  const fs::path tokens = test::shared_path("data/stories260K_samples.tokens");
  const CalibrationResult stats = calibrate(model, {tokens, 8, 128, "max"});
  const std::vector<int32_t> ids = io::read_token_file(tokens)[0];
  const std::vector<float> base = all_logits(model, ids);
  float scale = 0;
  for (float v : base) scale = std::max(scale, std::fabs(v));
  for (const bool full : {false, true}) {
    const auto plan = plan_smoothing(io::Checkpoint::open(model), stats, 0.5f, full);
    EXPECT_EQ(plan.size(), full ? 5u * 9u : 5u * 7u) << "5 layers: q, k, v, input norm, gate, up, post norm (+ down, o)";
    const fs::path out = tmp.path() / (full ? "full" : "norms");
    write_folded(model, out, plan);
    const std::vector<float> folded = all_logits(out, ids);
    double worst = 0;
    for (size_t i = 0; i < base.size(); ++i) worst = std::max(worst, double(std::fabs(folded[i] - base[i])));
    EXPECT_LT(worst / scale, 1e-5) << (full ? "full" : "norms only");
    // and the weights did change
    EXPECT_NE(io::dequantize_tensor(io::Checkpoint::open(out), "model.layers.0.input_layernorm.weight"),
              io::dequantize_tensor(io::Checkpoint::open(model), "model.layers.0.input_layernorm.weight"));
  }
  EXPECT_THROW(plan_smoothing(io::Checkpoint::open(model), stats, 1.5f, false), Error);
}

TEST(Smoothing, QuantizedCheckpointCarriesTheFold) {
  test::TempDir tmp;
  const fs::path model = test::shared_path("models/stories260K");
  const fs::path tokens = test::shared_path("data/stories260K_samples.tokens");
  pipeline::QuantizeCheckpointOptions o;
  o.scheme = "hif8";
  o.calibration = CalibrationOptions{tokens, 8, 128, "max"};
  o.smooth_alpha = 0.5f;
  o.smooth_full = true;
  pipeline::quantize_checkpoint(model, tmp.path() / "sq", o);
  const io::Checkpoint out = io::Checkpoint::open(tmp.path() / "sq");
  EXPECT_EQ(out.config()["quantization_config"]["smoothquant"], true);
  EXPECT_EQ(io::validate_checkpoint(out), std::vector<std::string>{});
  // The norm weight is the original divided by s; the q_proj input scale is the smoothed input's.
  const CalibrationResult stats = calibrate(model, *o.calibration);
  const auto plan = plan_smoothing(io::Checkpoint::open(model), stats, 0.5f, true);
  const std::vector<float> g = io::dequantize_tensor(io::Checkpoint::open(model), "model.layers.0.input_layernorm.weight");
  const std::vector<float> g2 = io::dequantize_tensor(out, "model.layers.0.input_layernorm.weight");
  const std::vector<float>& inv = plan.at("model.layers.0.input_layernorm.weight").columns;
  for (size_t j = 0; j < g.size(); ++j) EXPECT_FLOAT_EQ(g2[j], g[j] * inv[j]);
  const std::vector<float>& x = stats.channel_amax.at("model.layers.0.self_attn.q_proj");
  const std::vector<float>& s = plan.at("model.layers.0.self_attn.q_proj.weight").columns;
  float amax = 0;
  for (size_t j = 0; j < x.size(); ++j) amax = std::max(amax, x[j] / s[j]);
  EXPECT_FLOAT_EQ(io::dequantize_tensor(out, "model.layers.0.self_attn.q_proj.input_scale").at(0), amax / 16.0f);
  // It runs, and stays a usable model.
  const model::Model m = model::Model::load(tmp.path() / "sq", {model::ActQuant::static_, 2});
  EXPECT_LT(eval::perplexity(m, io::read_token_file(tokens), {}).ppl, 30.0);
  o.calibration.reset();
  EXPECT_THROW(pipeline::quantize_checkpoint(model, tmp.path() / "nocalib", o), Error);
}

}  // namespace
}  // namespace hifp8::calib

namespace hifp8::calib {
namespace {

// Scheme mixed: each weight gets the candidate with the least output error on calibration inputs
// (recomputed here for one layer), the K most sensitive stay bf16, and the choices are recorded.
TEST(MixedFormats, ChoosesTheLeastOutputErrorPerLayer) {
  test::TempDir tmp;
  const fs::path model = test::shared_path("models/stories260K");
  const fs::path tokens = test::shared_path("data/stories260K_samples.tokens");
  pipeline::QuantizeCheckpointOptions o;
  o.scheme = "mixed";
  o.calibration = CalibrationOptions{tokens, 8, 128, "max"};
  o.mixed_formats = {"hif8", "fp8_e4m3fn", "fp8_e5m2"};
  o.keep_bf16 = 3;
  const pipeline::QuantizeReport report = pipeline::quantize_checkpoint(model, tmp.path() / "mixed", o);
  size_t kept = 0, chosen = 0;
  for (const pipeline::TensorReport& t : report.tensors) {
    if (t.chosen_format.empty()) continue;
    ++chosen;
    ASSERT_EQ(t.output_errors.size(), 3u) << t.name;
    if (t.chosen_format == "bf16") {
      ++kept;
      EXPECT_FALSE(t.quantized) << t.name;
      continue;
    }
    const auto best = std::min_element(t.output_errors.begin(), t.output_errors.end(),
                                       [](const auto& a, const auto& b) { return a.second < b.second; });
    EXPECT_EQ(find_format(best->first).name, t.chosen_format) << t.name;
    EXPECT_TRUE(t.quantized) << t.name;
  }
  EXPECT_EQ(chosen, 35u);
  EXPECT_EQ(kept, 3u);
  const io::Checkpoint out = io::Checkpoint::open(tmp.path() / "mixed");
  EXPECT_EQ(out.config()["hifp8_mixed_formats"].size(), 35u);
  EXPECT_FALSE(out.config().contains("quantization_config")) << "fake-quantized: a plain checkpoint";
  // The written weight is the chosen format's fake-quantization (checked for one layer).
  const std::string name = "model.layers.2.mlp.up_proj.weight";
  const std::string f = out.config()["hifp8_mixed_formats"]["model.layers.2.mlp.up_proj"];
  if (f != "bf16") {
    const io::Checkpoint in = io::Checkpoint::open(model);
    const std::vector<float> w = io::dequantize_tensor(in, name);
    const QuantizedTensor q = quantize(w, in.find(name)->info->shape, find_format(f), Granularity::parse("channel"));
    EXPECT_EQ(io::dequantize_tensor(out, name), dequantize(q));
  }
  o.calibration.reset();
  EXPECT_THROW(pipeline::quantize_checkpoint(model, tmp.path() / "nocalib", o), Error);
}

}  // namespace
}  // namespace hifp8::calib
