// hifp8 quantize end to end: every scheme on the real stories260K checkpoint and on synthetic ones
// (bf16, f16, sharded, MoE names); outputs validated, dequantized and compared with the originals;
// bad inputs fail with clear errors and leave nothing behind.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "hifp8/error.h"
#include "hifp8/io/checkpoint.h"
#include "hifp8/io/checkpoint_inspect.h"
#include "hifp8/pipeline/quantize_checkpoint.h"
#include "hifp8/io/synthetic_checkpoint.h"
#include "hifp8/io/tensor_selection.h"
#include "hifp8/quant/error_stats.h"
#include "hifp8/quant/scheme.h"
#include "support/shared_data.h"
#include "support/temp_dir.h"

namespace hifp8::io {
namespace {
using pipeline::quantize_checkpoint;
using pipeline::QuantizeCheckpointOptions;
using pipeline::QuantizeReport;
using pipeline::QuantizeProgress;
using pipeline::TensorReport;
namespace fs = std::filesystem;

// Lowest acceptable per-tensor SQNR (dB) of each format on these weights (sweep: ~31 dB for FP8/HiF8).
double min_sqnr(FormatId f) { return f == FormatId::int8 ? 20.0 : 27.0; }

fs::path synth(const fs::path& dir, const std::string& preset, TensorDType dtype, uint64_t shard_bytes = 5'000'000'000ull) {
  SyntheticOptions o;
  o.preset = preset;
  o.dtype = dtype;
  o.seed = 7;
  o.max_shard_bytes = shard_bytes;
  write_synthetic_checkpoint(dir, o);
  return dir;
}

// Checks one quantized output against its input: validation, tensor by tensor.
void check_output(const fs::path& in_dir, const fs::path& out_dir, const Scheme& scheme) {
  SCOPED_TRACE(std::string(scheme.name) + " " + in_dir.string());
  const Checkpoint in = Checkpoint::open(in_dir);
  const Checkpoint out = Checkpoint::open(out_dir);
  EXPECT_EQ(validate_checkpoint(out), std::vector<std::string>{});
  const bool fake = scheme.export_kind == ExportKind::fake_quant;
  EXPECT_EQ(out.config().contains("quantization_config"), !fake);
  const TensorSelector selector({});
  size_t quantized = 0;
  for (const Checkpoint::Entry& e : in.tensors()) {
    const TensorInfo& t = *e.info;
    const Checkpoint::Entry* o = out.find(t.name);
    ASSERT_NE(o, nullptr) << t.name;
    EXPECT_EQ(o->info->shape, t.shape);
    if (selector.classify(t.name, t.shape.size()) != TensorRole::quantize) {
      ASSERT_EQ(o->info->dtype, t.dtype) << t.name;
      const auto a = in.bytes(e), b = out.bytes(*o);
      EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end())) << t.name << " must be copied unchanged";
      continue;
    }
    ++quantized;
    if (fake) {
      EXPECT_EQ(o->info->dtype, t.dtype);
    }
    const std::vector<float> original = dequantize_tensor(in, t.name);
    const std::vector<float> restored = dequantize_tensor(out, t.name);
    const double sqnr = error_stats(original, restored).sqnr_db;
    EXPECT_GT(sqnr, min_sqnr(scheme.format)) << t.name;
    EXPECT_LT(sqnr, 60.0) << t.name << ": suspiciously exact";
  }
  EXPECT_GT(quantized, 0u);
}

class EveryScheme : public testing::TestWithParam<std::string> {};

TEST_P(EveryScheme, Stories260K) {
  test::TempDir tmp;
  const fs::path model = test::shared_path("models/stories260K");
  const Scheme& scheme = find_scheme(GetParam());
  QuantizeCheckpointOptions opt;
  opt.scheme = scheme.name;
  opt.progress = [](const QuantizeProgress& p) { ASSERT_LE(p.bytes_done, p.bytes_total); };
  const QuantizeReport report = quantize_checkpoint(model, tmp.path() / "out", opt);
  check_output(model, tmp.path() / "out", scheme);
  EXPECT_EQ(report.tensors.size(), Checkpoint::open(model).tensors().size());
  const nlohmann::json j = report.to_json();
  EXPECT_EQ(j["totals"]["quantized_tensors"], 35);  // 5 layers x 7 Linear weights
}

TEST_P(EveryScheme, SyntheticBf16F16ShardedAndMoe) {
  test::TempDir tmp;
  const Scheme& scheme = find_scheme(GetParam());
  const struct {
    const char* preset;
    TensorDType dtype;
    uint64_t shard;
  } inputs[] = {{"tiny", TensorDType::BF16, 1'000'000}, {"tiny", TensorDType::F16, 5'000'000'000ull},
                {"tiny-moe", TensorDType::BF16, 3'000'000}, {"tiny-mixtral", TensorDType::BF16, 5'000'000'000ull}};
  int i = 0;
  for (const auto& input : inputs) {
    const fs::path in = synth(tmp.path() / ("in" + std::to_string(i)), input.preset, input.dtype, input.shard);
    const fs::path out = tmp.path() / ("out" + std::to_string(i++));
    QuantizeCheckpointOptions opt;
    opt.scheme = scheme.name;
    opt.max_shard_bytes = input.shard;
    quantize_checkpoint(in, out, opt);
    check_output(in, out, scheme);
    if (std::string(input.preset) != "tiny") {
      const nlohmann::json& qc = Checkpoint::open(out).config().value("quantization_config", nlohmann::json());
      if (!qc.is_null()) {
        const std::string ignore = qc.contains("ignore") ? qc["ignore"].dump() : qc["ignored_layers"].dump();
        EXPECT_NE(ignore.find(".gate\""), std::string::npos) << "routers are listed as ignored: " << ignore;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Schemes, EveryScheme,
                         testing::Values("fp8-dynamic", "fp8-tensor", "fp8-block", "int8-dynamic", "hif8", "fake-hif8",
                                         "fake-fp8", "fake-int8"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(Quantize, ConfigsMatchTheEngineLayouts) {
  test::TempDir tmp;
  const fs::path in = synth(tmp.path() / "in", "tiny", TensorDType::BF16);
  auto run = [&](const std::string& scheme, const std::string& granularity = "") {
    QuantizeCheckpointOptions opt;
    opt.scheme = scheme;
    if (!granularity.empty()) opt.granularity = Granularity::parse(granularity);
    quantize_checkpoint(in, tmp.path() / scheme, opt);
    return Checkpoint::open(tmp.path() / scheme);
  };
  {
    const Checkpoint c = run("fp8-dynamic");
    const nlohmann::json& qc = c.config()["quantization_config"];
    EXPECT_EQ(qc["quant_method"], "compressed-tensors");
    EXPECT_EQ(qc["format"], "float-quantized");
    EXPECT_EQ(qc["config_groups"]["group_0"]["weights"]["strategy"], "channel");
    EXPECT_EQ(qc["config_groups"]["group_0"]["input_activations"]["dynamic"], true);
    EXPECT_EQ(qc["ignore"], nlohmann::json({"lm_head"}));
    const Checkpoint::Entry* s = c.find("model.layers.0.mlp.down_proj.weight_scale");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->info->shape, (std::vector<int64_t>{256, 1}));
    EXPECT_EQ(c.find("model.layers.0.mlp.down_proj.weight")->info->dtype, TensorDType::F8_E4M3);
  }
  {
    const Checkpoint c = run("fp8-block");
    EXPECT_EQ(c.config()["quantization_config"]["weight_block_size"], nlohmann::json({128, 128}));
    const Checkpoint::Entry* s = c.find("model.layers.0.mlp.gate_proj.weight_scale_inv");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->info->shape, (std::vector<int64_t>{6, 2}));  // 688 x 256: ragged last block row
  }
  {
    const Checkpoint c = run("fp8-tensor");
    EXPECT_EQ(c.find("model.layers.0.self_attn.q_proj.weight_scale")->info->shape, std::vector<int64_t>{});
  }
  {
    const Checkpoint c = run("int8-dynamic");
    EXPECT_EQ(c.config()["quantization_config"]["format"], "int-quantized");
    EXPECT_EQ(c.find("model.layers.1.mlp.up_proj.weight")->info->dtype, TensorDType::I8);
  }
  {
    const Checkpoint c = run("hif8", "group:16");
    const nlohmann::json& qc = c.config()["quantization_config"];
    EXPECT_EQ(qc["quant_method"], "hif8");
    EXPECT_EQ(qc["weights"]["strategy"], "group");
    EXPECT_EQ(qc["weights"]["target"], 16.0);
    EXPECT_EQ(c.find("model.layers.0.self_attn.o_proj.weight_scale")->info->shape, (std::vector<int64_t>{256, 16}));
    EXPECT_EQ(c.find("model.layers.0.self_attn.o_proj.weight")->info->dtype, TensorDType::U8);
  }
}

TEST(Quantize, IgnoreAndLmHeadOptions) {
  test::TempDir tmp;
  const fs::path in = synth(tmp.path() / "in", "tiny", TensorDType::BF16);
  QuantizeCheckpointOptions opt;
  opt.selection = {{"re:.*self_attn\\.(k|v)_proj"}, true};
  quantize_checkpoint(in, tmp.path() / "out", opt);
  const Checkpoint c = Checkpoint::open(tmp.path() / "out");
  EXPECT_EQ(c.find("lm_head.weight")->info->dtype, TensorDType::F8_E4M3);
  EXPECT_EQ(c.find("model.layers.1.self_attn.k_proj.weight")->info->dtype, TensorDType::BF16);
  EXPECT_EQ(c.find("model.embed_tokens.weight")->info->dtype, TensorDType::BF16);
  const std::string ignore = c.config()["quantization_config"]["ignore"].dump();
  EXPECT_NE(ignore.find("model.layers.1.self_attn.v_proj"), std::string::npos);
  EXPECT_EQ(ignore.find("lm_head"), std::string::npos);
  EXPECT_EQ(validate_checkpoint(c), std::vector<std::string>{});
}

// Every failure: a clear error, no output directory, no temporary directory left behind.
// Shapes the chunk/tile split must handle: empty weights, a single row wider than a tile, rows that
// leave a ragged last tile and a ragged last 128-row block. Every scheme; scales compared with a
// whole-tensor quantize() of the same data.
TEST(Quantize, EmptyAndRaggedWeights) {
  test::TempDir tmp;
  const fs::path in = tmp.path() / "in";
  fs::create_directories(in);
  std::ofstream(in / "config.json") << R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama"})";
  const std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
      {"model.layers.0.mlp.up_proj.weight", {0, 256}},   {"model.layers.0.mlp.down_proj.weight", {256, 0}},
      {"model.layers.1.mlp.up_proj.weight", {1, 40960}}, {"model.layers.1.mlp.down_proj.weight", {300, 384}},
      {"model.layers.2.mlp.up_proj.weight", {133, 4096}}};
  std::vector<TensorSpec> specs;
  for (const auto& [name, shape] : shapes) specs.push_back({name, TensorDType::F32, shape});
  std::vector<std::vector<float>> data;
  {
    SafetensorsWriter w(in / "model.safetensors", specs);
    std::mt19937 rng(std::random_device{}());
    std::student_t_distribution<float> heavy(3.0f);
    for (const auto& [name, shape] : shapes) {
      data.emplace_back(numel(shape));
      for (float& v : data.back()) v = heavy(rng);
      w.write({reinterpret_cast<const uint8_t*>(data.back().data()), data.back().size() * sizeof(float)});
    }
    w.finish();
  }
  for (const Scheme& scheme : all_schemes()) {
    if (scheme.name == "mixed") continue;  // needs calibration data: tests/calib
    SCOPED_TRACE(scheme.name);
    QuantizeCheckpointOptions opt;
    opt.scheme = scheme.name;
    const fs::path out = tmp.path() / scheme.name;
    const QuantizeReport report = quantize_checkpoint(in, out, opt);
    EXPECT_EQ(report.tensors.size(), shapes.size());
    const Checkpoint c = Checkpoint::open(out);
    EXPECT_EQ(validate_checkpoint(c), std::vector<std::string>{});
    const Granularity g = scheme.default_granularity;
    for (size_t i = 0; i < shapes.size(); ++i) {
      const auto& [name, shape] = shapes[i];
      const QuantizedTensor whole = quantize(data[i], shape, format_info(scheme.format), g);
      const std::vector<float> expected = dequantize(whole);
      std::vector<float> got = dequantize_tensor(c, name);
      ASSERT_EQ(got.size(), expected.size()) << name;
      if (scheme.export_kind == ExportKind::fake_quant) {
        // Written in the input dtype (F32 here): exactly the dequantized values.
        EXPECT_EQ(got, expected) << name;
      } else {
        for (size_t j = 0; j < got.size(); ++j) ASSERT_EQ(got[j], expected[j]) << name << " element " << j;
      }
    }
  }
}

TEST(Quantize, BadInputsFailCleanly) {
  test::TempDir tmp;
  const fs::path in = synth(tmp.path() / "in", "tiny", TensorDType::F32);
  const fs::path out = tmp.path() / "out";
  auto expect_error = [&](const QuantizeCheckpointOptions& opt, const fs::path& input, const std::string& fragment) {
    try {
      quantize_checkpoint(input, out, opt);
      ADD_FAILURE() << "expected an error containing: " << fragment;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(out));
    for (const auto& e : fs::directory_iterator(tmp.path()))
      EXPECT_NE(e.path().filename().string()[0], '.') << "left behind: " << e.path();
  };
  QuantizeCheckpointOptions opt;
  opt.scheme = "fp9";
  expect_error(opt, in, "unknown scheme 'fp9'");
  opt.scheme = "fp8-tensor";
  opt.granularity = Granularity::parse("channel");
  expect_error(opt, in, "fixed granularity");
  opt = {};
  opt.granularity = Granularity::parse("group:64");
  expect_error(opt, in, "no W8A8 kernel for FP8 group");  // fp8-dynamic: vLLM would not load it
  opt.scheme = "hif8";
  opt.granularity = Granularity::parse("group:100");
  expect_error(opt, in, "does not divide");
  opt = {};
  opt.target = 1000;
  expect_error(opt, in, "outside (0, 448");

  // A NaN in one weight: the error names the tensor and position; --allow-nonfinite goes through.
  {
    const Checkpoint c = Checkpoint::open(in);
    const Checkpoint::Entry* e = c.find("model.layers.1.mlp.up_proj.weight");
    const uint64_t offset = c.shards()[0].bytes(*e->info).data() - c.shards()[0].bytes(*c.tensors()[0].info).data();
    std::fstream f(in / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    std::vector<char> head(8);
    f.read(head.data(), 8);
    uint64_t header = 0;
    for (int i = 7; i >= 0; --i) header = header << 8 | uint8_t(head[size_t(i)]);
    const float nan = NAN;
    f.seekp(std::streamoff(8 + header + c.tensors()[0].info->begin + offset + (3 * 256 + 5) * 4));
    f.write(reinterpret_cast<const char*>(&nan), 4);
  }
  expect_error({}, in, "tensor 'model.layers.1.mlp.up_proj.weight' has a non-finite value (nan) at row 3, column 5");
  opt = {};
  opt.allow_nonfinite = true;
  quantize_checkpoint(in, out, opt);
  EXPECT_TRUE(fs::exists(out / "model.safetensors"));

  // An existing output is refused unless forced.
  opt = {};
  try {
    quantize_checkpoint(in, out, opt);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--force"), std::string::npos);
  }
  opt.force = true;
  opt.allow_nonfinite = true;
  quantize_checkpoint(in, out, opt);
  fs::remove_all(out);

  // Already quantized input, a config without architectures, a missing shard.
  opt = {};
  opt.allow_nonfinite = true;
  quantize_checkpoint(in, tmp.path() / "q", opt);
  expect_error({}, tmp.path() / "q", "already quantized");
  fs::copy(in, tmp.path() / "noarch");
  std::ofstream(tmp.path() / "noarch" / "config.json") << R"({"model_type": "llama"})";
  expect_error({}, tmp.path() / "noarch", "no \"architectures\"");
  const fs::path sharded = synth(tmp.path() / "sharded", "tiny", TensorDType::BF16, 1'000'000);
  std::string second;
  for (const auto& e : fs::directory_iterator(sharded))
    if (e.path().filename().string().rfind("model-00002-of-", 0) == 0) second = e.path().filename().string();
  ASSERT_FALSE(second.empty());
  fs::remove(sharded / second);
  expect_error({}, sharded, "missing shard " + second);
}

}  // namespace
}  // namespace hifp8::io
