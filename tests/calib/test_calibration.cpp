// Calibration: the statistic of the first layer's input recomputed independently from the checkpoint
// (RMSNorm of the embeddings), static scales written in each layout, read back by the engine.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hifp8/calib/calibration.h"
#include "hifp8/error.h"
#include "hifp8/eval/perplexity.h"
#include "hifp8/io/file_bytes.h"
#include "hifp8/io/checkpoint.h"
#include "hifp8/io/checkpoint_inspect.h"
#include "hifp8/pipeline/quantize_checkpoint.h"
#include "support/shared_data.h"
#include "support/temp_dir.h"

namespace hifp8::calib {
namespace {
namespace fs = std::filesystem;

float tensor_value(const fs::path& dir, const std::string& name) {
  return io::dequantize_tensor(io::Checkpoint::open(dir), name).at(0);
}

// max over the calibration tokens of |RMSNorm(embedding) * input_layernorm| = layer 0's q_proj input.
double first_layer_input_amax(const fs::path& model, const std::vector<eval::Document>& docs) {
  const io::Checkpoint c = io::Checkpoint::open(model);
  const std::vector<float> E = io::dequantize_tensor(c, "model.embed_tokens.weight");
  const std::vector<float> g = io::dequantize_tensor(c, "model.layers.0.input_layernorm.weight");
  const size_t H = g.size();
  double amax = 0;
  for (const auto& d : docs)
    for (int32_t t : d) {
      double ss = 0;
      for (size_t i = 0; i < H; ++i) ss += double(E[size_t(t) * H + i]) * E[size_t(t) * H + i];
      const double inv = 1.0 / std::sqrt(ss / double(H) + 1e-5);
      for (size_t i = 0; i < H; ++i) amax = std::max(amax, std::fabs(g[i] * E[size_t(t) * H + i] * inv));
    }
  return amax;
}

TEST(Calibration, StaticScalesFromIndependentStatistics) {
  test::TempDir tmp;
  const fs::path model = test::shared_path("models/stories260K");
  const fs::path tokens = test::shared_path("data/stories260K_samples.tokens");
  const std::vector<eval::Document> docs = io::read_token_file(tokens);
  const double amax = first_layer_input_amax(model, docs);
  for (const char* scheme : {"fp8-dynamic", "fp8-tensor", "int8-dynamic", "hif8"}) {
    SCOPED_TRACE(scheme);
    pipeline::QuantizeCheckpointOptions o;
    o.scheme = scheme;
    o.calibration = CalibrationOptions{tokens, 128, 512, "max"};
    const fs::path out = tmp.path() / scheme;
    const pipeline::QuantizeReport report = pipeline::quantize_checkpoint(model, out, o);
    // The report records the calibration, and warns: the sample file holds fewer than 128 sequences of 512.
    ASSERT_TRUE(report.calibration.has_value());
    EXPECT_EQ(report.calibration->sequences_asked, 128u);
    EXPECT_GT(report.calibration->sequences, 0u);
    EXPECT_LT(report.calibration->sequences, 128u);
    EXPECT_EQ(report.calibration->kv_scales, 10u);  // k and v of 5 layers
    EXPECT_EQ(report.calibration->input_scales, 35u);  // every quantized linear
    ASSERT_EQ(report.warnings.size(), 1u);
    EXPECT_NE(report.warnings[0].find("--calib-samples"), std::string::npos);
    EXPECT_NE(report.to_markdown().find("| calibration | "), std::string::npos);
    EXPECT_EQ(report.to_json()["calibration"]["sequences_asked"], 128);
    // The output's model card states the quantization, then keeps the original card.
    const std::string card = io::read_file(out / "README.md");
    EXPECT_EQ(card.rfind("# stories260K — " + std::string(scheme) + " (hifp8)", 0), 0u) << card.substr(0, 80);
    EXPECT_NE(card.find("| calibration | "), std::string::npos);
    EXPECT_NE(card.find("## The original model card"), std::string::npos);
    const float target = std::string(scheme) == "int8-dynamic" ? 127.0f : std::string(scheme) == "hif8" ? 16.0f : 448.0f;
    EXPECT_NEAR(tensor_value(out, "model.layers.0.self_attn.q_proj.input_scale") * target, amax, 1e-5 * amax);
    EXPECT_GT(tensor_value(out, "model.layers.4.self_attn.k_scale"), 0.0f);
    EXPECT_GT(tensor_value(out, "model.layers.4.self_attn.v_scale"), 0.0f);
    EXPECT_EQ(io::validate_checkpoint(io::Checkpoint::open(out)), std::vector<std::string>{});
    const nlohmann::json qc = io::Checkpoint::open(out).config()["quantization_config"];
    if (qc["quant_method"] == "compressed-tensors") {
      EXPECT_EQ(qc["config_groups"]["group_0"]["input_activations"]["dynamic"], false);
      EXPECT_EQ(qc["config_groups"]["group_0"]["input_activations"]["strategy"], "tensor");
      EXPECT_EQ(qc["kv_cache_scheme"]["strategy"], "tensor");
    } else {
      EXPECT_EQ(qc["activation_scheme"], "static");
    }
    // The engine runs it with the static scales (activations and an E4M3 KV cache).
    const model::Model m = model::Model::load(out, {model::ActQuant::static_, 2});
    eval::PerplexityOptions p;
    p.kv_cache = model::KvDType::fp8_e4m3;
    const eval::PerplexityResult r = eval::perplexity(m, docs, p);
    EXPECT_TRUE(std::isfinite(r.ppl));
    EXPECT_LT(r.ppl, 30.0) << "the float model has 9.55";
  }
}

TEST(Calibration, PercentileClipsBelowTheMaximum) {
  const fs::path model = test::shared_path("models/stories260K");
  const fs::path tokens = test::shared_path("data/stories260K_samples.tokens");
  const CalibrationResult max = calibrate(model, {tokens, 4, 64, "max"});
  const CalibrationResult p100 = calibrate(model, {tokens, 4, 64, "percentile:100"});
  const CalibrationResult p99 = calibrate(model, {tokens, 4, 64, "percentile:99"});
  EXPECT_EQ(max.sequences, 4u);
  EXPECT_EQ(max.tokens, 4u * 64u);
  ASSERT_EQ(max.amax.size(), p99.amax.size());
  for (const auto& [name, a] : max.amax) {
    EXPECT_EQ(p100.amax.at(name), a) << name;  // the upper bin edge is clipped to the maximum
    EXPECT_LT(p99.amax.at(name), a) << name;
    EXPECT_GT(p99.amax.at(name), 0.0f) << name;
  }
  EXPECT_TRUE(max.amax.count("model.layers.0.self_attn.k_cache"));
  EXPECT_TRUE(max.amax.count("lm_head") || max.amax.count("model.embed_tokens"));
}

// mse picks a clip in [max / 8, max] (the maximum itself is a candidate, so it is never worse than max
// in squared fake-quantization error); INT8's uniform grid makes clipping pay off for some inputs.
TEST(Calibration, MseClipsNoWorseThanMax) {
  const fs::path model = test::shared_path("models/stories260K");
  const fs::path tokens = test::shared_path("data/stories260K_samples.tokens");
  for (FormatId id : {FormatId::fp8_e4m3fn, FormatId::int8, FormatId::hif8}) {
    const FormatInfo& f = format_info(id);
    SCOPED_TRACE(std::string(f.name));
    CalibrationOptions o{tokens, 4, 64, "mse"};
    o.format = &f;
    const CalibrationResult mse = calibrate(model, o);
    const CalibrationResult max = calibrate(model, {tokens, 4, 64, "max"});
    size_t clipped = 0;
    for (const auto& [name, a] : max.amax) {
      EXPECT_LE(mse.amax.at(name), a) << name;
      EXPECT_GE(mse.amax.at(name), a / 8.01f) << name;
      clipped += mse.amax.at(name) < a;
    }
    if (id == FormatId::int8) {
      EXPECT_GT(clipped, 0u) << "INT8's uniform grid gains from clipping outliers";
    }
  }
  EXPECT_THROW(calibrate(model, {tokens, 4, 64, "mse"}), Error) << "mse without a format";
}

TEST(Calibration, BadOptionsAreErrors) {
  test::TempDir tmp;
  const fs::path model = test::shared_path("models/stories260K");
  const fs::path tokens = test::shared_path("data/stories260K_samples.tokens");
  EXPECT_THROW(calibrate(model, {tokens, 4, 64, "minmax2"}), Error);
  EXPECT_THROW(calibrate(model, {tokens, 4, 64, "percentile:150"}), Error);
  EXPECT_THROW(calibrate(model, {tmp.path() / "missing.tokens", 4, 64, "max"}), Error);
  for (const char* scheme : {"fp8-block", "fake-fp8"}) {
    pipeline::QuantizeCheckpointOptions o;
    o.scheme = scheme;
    o.calibration = CalibrationOptions{tokens, 4, 64, "max"};
    EXPECT_THROW(pipeline::quantize_checkpoint(model, tmp.path() / scheme, o), Error) << scheme;
    EXPECT_FALSE(fs::exists(tmp.path() / scheme));
  }
}

}  // namespace
}  // namespace hifp8::calib
