// The engine against two independent oracles:
//  - transformers' logits (eager attention, fp32) for stories260K and for tiny random checkpoints of
//    every architecture, made on the device machine (scripts/device/make_references.py);
//  - a float64 forward pass written here, plainly, from the architectures' definitions, run on the
//    same weights (dequantized for 8-bit checkpoints), for f32, bf16 and every quantize scheme.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "hifp8/error.h"
#include "hifp8/io/checkpoint.h"
#include "hifp8/io/checkpoint_inspect.h"
#include "hifp8/pipeline/quantize_checkpoint.h"
#include "hifp8/kernel/array_ops.h"
#include "hifp8/model/model.h"
#include "hifp8/quant/quantized_tensor.h"
#include "support/rewrite_checkpoint.h"
#include "support/shared_data.h"
#include "support/temp_dir.h"

namespace hifp8::model {
namespace {
namespace fs = std::filesystem;
using Matrix = std::vector<std::vector<double>>;  // [position][vocab]

const std::string kArchs[] = {"llama3", "mistral", "qwen2", "qwen3", "qwen3_moe", "mixtral"};
// Checked against transformers only (the float64 reference above is the Llama block).
const std::string kFamilyArchs[] = {"llama32", "phi3", "phi3_longrope", "gemma2", "gemma3", "gpt_oss", "gpt_oss_mxfp4"};

fs::path tiny_model(const std::string& arch) {
  return fs::path(HIFP8_SOURCE_DIR) / "tests/data/tiny-models" / arch;
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  if (!in) throw std::runtime_error("missing " + p.string());
  return nlohmann::json::parse(in);
}

// ---- float64 reference forward ------------------------------------------------------------------

struct Reference {
  ModelConfig c;
  std::map<std::string, std::vector<double>> w;
  const FormatInfo* act_format = nullptr;  // set: quantize the inputs of 8-bit linears per token
  std::set<std::string> quantized;         // modules with 8-bit weights

  explicit Reference(const fs::path& dir) {
    const io::Checkpoint ckpt = io::Checkpoint::open(dir);
    c = ModelConfig::from_json(ckpt.config());
    for (const auto& e : ckpt.tensors()) {
      const std::string& name = e.info->name;
      if (name.ends_with(".weight_scale") || name.ends_with(".weight_scale_inv")) {
        quantized.insert(name.substr(0, name.rfind('.')));
        continue;
      }
      const std::vector<float> f = io::dequantize_tensor(ckpt, name);
      w[name] = std::vector<double>(f.begin(), f.end());
    }
  }

  const std::vector<double>& get(const std::string& name) const {
    const auto it = w.find(name);
    if (it == w.end()) throw std::runtime_error("reference: no tensor " + name);
    return it->second;
  }

  std::vector<double> linear(const std::string& module, const std::vector<double>& x) const {
    const std::vector<double>& W = get(module + ".weight");
    const size_t in = x.size(), out = W.size() / in;
    std::vector<double> xin = x;
    if (act_format && quantized.count(module)) {
      std::vector<float> xf(x.begin(), x.end()), q(in);
      float amax = 0;
      for (float v : xf) amax = std::max(amax, std::fabs(v));
      kernel::fake_quant(*act_format, xf.data(), q.data(), in, amax > 0 ? amax / default_target(*act_format) : 1.0f);
      xin.assign(q.begin(), q.end());
    }
    std::vector<double> y(out, 0.0);
    const auto b = w.find(module + ".bias");
    for (size_t o = 0; o < out; ++o) {
      for (size_t i = 0; i < in; ++i) y[o] += W[o * in + i] * xin[i];
      if (b != w.end()) y[o] += b->second[o];
    }
    return y;
  }

  std::vector<double> rms(const std::vector<double>& x, const std::vector<double>& g, size_t off, size_t n) const {
    double ss = 0;
    for (size_t i = 0; i < n; ++i) ss += x[off + i] * x[off + i];
    const double inv = 1.0 / std::sqrt(ss / double(n) + c.rms_eps);
    std::vector<double> y(n);
    for (size_t i = 0; i < n; ++i) y[i] = g[i] * x[off + i] * inv;
    return y;
  }

  double inv_freq(size_t i) const {
    double f = std::pow(c.rope.theta, -double(2 * i) / double(c.head_dim));
    if (c.rope.type != RopeConfig::Type::llama3) return f;
    const double wavelen = 2 * M_PI / f, old = c.rope.original_max_positions;
    if (wavelen < old / c.rope.high_freq_factor) return f;
    if (wavelen > old / c.rope.low_freq_factor) return f / c.rope.factor;
    const double smooth = (old / wavelen - c.rope.low_freq_factor) / (c.rope.high_freq_factor - c.rope.low_freq_factor);
    return (1 - smooth) * f / c.rope.factor + smooth * f;
  }

  void rotate(std::vector<double>& x, size_t heads, size_t pos) const {
    const size_t d = size_t(c.head_dim), half = d / 2;
    for (size_t h = 0; h < heads; ++h)
      for (size_t i = 0; i < half; ++i) {
        const double a = x[h * d + i], b = x[h * d + i + half], t = double(pos) * inv_freq(i);
        x[h * d + i] = a * std::cos(t) - b * std::sin(t);
        x[h * d + i + half] = b * std::cos(t) + a * std::sin(t);
      }
  }

  std::vector<double> mlp(const std::string& p, const std::string& g, const std::string& u, const std::string& d,
                          const std::vector<double>& x) const {
    std::vector<double> a = linear(p + g, x), b = linear(p + u, x);
    for (size_t i = 0; i < a.size(); ++i) a[i] = a[i] / (1 + std::exp(-a[i])) * b[i];
    return linear(p + d, a);
  }

  Matrix forward(const std::vector<int32_t>& tokens) const {
    const size_t H = size_t(c.hidden), d = size_t(c.head_dim), nh = size_t(c.heads), nkv = size_t(c.kv_heads);
    const size_t T = tokens.size();
    std::vector<std::vector<double>> h(T);
    for (size_t t = 0; t < T; ++t) {
      const auto& E = get("model.embed_tokens.weight");
      h[t].assign(E.begin() + long(size_t(tokens[t]) * H), E.begin() + long((size_t(tokens[t]) + 1) * H));
    }
    for (int64_t l = 0; l < c.layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      std::vector<std::vector<double>> q(T), k(T), v(T);
      for (size_t t = 0; t < T; ++t) {
        const std::vector<double> x = rms(h[t], get(p + "input_layernorm.weight"), 0, H);
        q[t] = linear(p + "self_attn.q_proj", x);
        k[t] = linear(p + "self_attn.k_proj", x);
        v[t] = linear(p + "self_attn.v_proj", x);
        if (c.qk_norm) {
          for (size_t hh = 0; hh < nh; ++hh) {
            const auto y = rms(q[t], get(p + "self_attn.q_norm.weight"), hh * d, d);
            std::copy(y.begin(), y.end(), q[t].begin() + long(hh * d));
          }
          for (size_t hh = 0; hh < nkv; ++hh) {
            const auto y = rms(k[t], get(p + "self_attn.k_norm.weight"), hh * d, d);
            std::copy(y.begin(), y.end(), k[t].begin() + long(hh * d));
          }
        }
        rotate(q[t], nh, t);
        rotate(k[t], nkv, t);
      }
      for (size_t t = 0; t < T; ++t) {
        std::vector<double> ctx(nh * d, 0.0);
        for (size_t hh = 0; hh < nh; ++hh) {
          const size_t kh = hh / (nh / nkv);
          const size_t first = c.sliding_window && t + 1 > size_t(*c.sliding_window) ? t + 1 - size_t(*c.sliding_window) : 0;
          std::vector<double> s;
          double mx = -1e300;
          for (size_t j = first; j <= t; ++j) {
            double dot = 0;
            for (size_t i = 0; i < d; ++i) dot += q[t][hh * d + i] * k[j][kh * d + i];
            s.push_back(dot / std::sqrt(double(d)));
            mx = std::max(mx, s.back());
          }
          double sum = 0;
          for (double& x : s) sum += x = std::exp(x - mx);
          for (size_t j = first; j <= t; ++j)
            for (size_t i = 0; i < d; ++i) ctx[hh * d + i] += s[j - first] / sum * v[j][kh * d + i];
        }
        const std::vector<double> o = linear(p + "self_attn.o_proj", ctx);
        for (size_t i = 0; i < H; ++i) h[t][i] += o[i];
        const std::vector<double> x = rms(h[t], get(p + "post_attention_layernorm.weight"), 0, H);
        std::vector<double> y(H, 0.0);
        const bool mixtral = c.arch == Arch::mixtral;
        const std::string moe = p + (mixtral ? "block_sparse_moe." : "mlp.");
        if (w.count(moe + "gate.weight")) {
          std::vector<double> r = linear(moe + "gate", x);
          const double mx = *std::max_element(r.begin(), r.end());
          double sum = 0;
          for (double& z : r) sum += z = std::exp(z - mx);
          for (double& z : r) z /= sum;
          std::vector<size_t> order(r.size());
          for (size_t e = 0; e < r.size(); ++e) order[e] = e;
          std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return r[a] > r[b]; });
          double chosen = 0;
          for (int64_t kk = 0; kk < c.experts_per_token; ++kk) chosen += r[order[size_t(kk)]];
          for (int64_t kk = 0; kk < c.experts_per_token; ++kk) {
            const size_t e = order[size_t(kk)];
            const std::string E = moe + "experts." + std::to_string(e) + ".";
            const std::vector<double> out = mixtral ? mlp(E, "w1", "w3", "w2", x) : mlp(E, "gate_proj", "up_proj", "down_proj", x);
            const double weight = c.normalize_top_k ? r[e] / chosen : r[e];
            for (size_t i = 0; i < H; ++i) y[i] += weight * out[i];
          }
        } else {
          y = mlp(p + "mlp.", "gate_proj", "up_proj", "down_proj", x);
        }
        for (size_t i = 0; i < H; ++i) h[t][i] += y[i];
      }
    }
    Matrix logits;
    const std::string head = w.count("lm_head.weight") ? "lm_head" : "model.embed_tokens";
    for (size_t t = 0; t < T; ++t) logits.push_back(linear(head, rms(h[t], get("model.norm.weight"), 0, H)));
    return logits;
  }
};

// ---- helpers ------------------------------------------------------------------------------------

Matrix engine_logits(const fs::path& dir, const std::vector<int32_t>& tokens, ActQuant act = ActQuant::none,
                     KvDType kv = KvDType::f32) {
  const Model m = Model::load(dir, {act, 2});
  KvCache cache = m.new_cache(kv, int64_t(tokens.size()));
  const std::vector<float> flat = m.forward(tokens, cache, true);
  Matrix out(tokens.size());
  const auto V = size_t(m.config().vocab);
  for (size_t t = 0; t < tokens.size(); ++t) out[t].assign(flat.begin() + long(t * V), flat.begin() + long((t + 1) * V));
  return out;
}

// The same logits one token at a time (the decoding path: fused dot products, integer ones for INT8
// weights with quantized inputs).
Matrix engine_logits_stepwise(const fs::path& dir, const std::vector<int32_t>& tokens, ActQuant act) {
  const Model m = Model::load(dir, {act, 2});
  KvCache cache = m.new_cache(KvDType::f32, int64_t(tokens.size()));
  Matrix out;
  for (int32_t token : tokens) {
    const std::vector<float> row = m.forward(std::vector<int32_t>{token}, cache, false);
    out.emplace_back(row.begin(), row.end());
  }
  return out;
}

// Largest |a - b| in each row relative to that row's largest |b|.
double max_relative_error(const Matrix& a, const Matrix& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t t = 0; t < std::min(a.size(), b.size()); ++t) {
    double diff = 0, scale = 0;
    for (size_t i = 0; i < b[t].size(); ++i) diff = std::max(diff, std::fabs(a[t][i] - b[t][i])), scale = std::max(scale, std::fabs(b[t][i]));
    worst = std::max(worst, diff / scale);
  }
  return worst;
}

Matrix json_matrix(const nlohmann::json& j) { return j.get<Matrix>(); }

// A copy of a float checkpoint with every float tensor narrowed to bf16.
fs::path to_bf16(const fs::path& in, const fs::path& out) { return test::rewrite_checkpoint(in, out, io::TensorDType::BF16); }

// ---- tests --------------------------------------------------------------------------------------

TEST(Engine, Stories260KMatchesTransformers) {
  const nlohmann::json ref = read_json(fs::path(HIFP8_SOURCE_DIR) / "tests/data/stories260K_logits.json");
  const Matrix got = engine_logits(test::shared_path("models/stories260K"), ref["tokens"].get<std::vector<int32_t>>());
  EXPECT_LT(max_relative_error(got, json_matrix(ref["logits"])), 1e-5);
}

class TransformersLogits : public testing::TestWithParam<std::string> {};

TEST_P(TransformersLogits, MatchWithin1e5) {
  const nlohmann::json ref = read_json(tiny_model(GetParam()) / "reference_logits.json");
  const Matrix got = engine_logits(tiny_model(GetParam()), ref["tokens"].get<std::vector<int32_t>>());
  EXPECT_LT(max_relative_error(got, json_matrix(ref["logits"])), 1e-5);
}

INSTANTIATE_TEST_SUITE_P(Archs, TransformersLogits, testing::ValuesIn(kArchs));
INSTANTIATE_TEST_SUITE_P(Families, TransformersLogits, testing::ValuesIn(kFamilyArchs));

class EveryArch : public testing::TestWithParam<std::string> {};

TEST_P(EveryArch, MatchesFloat64ReferenceInF32Bf16AndEveryScheme) {
  test::TempDir tmp;
  const std::vector<int32_t> tokens = {5, 60, 7, 127, 3, 3, 88, 14, 101, 0, 66};
  std::vector<std::pair<std::string, fs::path>> variants = {{"f32", tiny_model(GetParam())},
                                                           {"bf16", to_bf16(tiny_model(GetParam()), tmp.path() / "bf16")}};
  for (const char* scheme : {"fp8-dynamic", "fp8-tensor", "fp8-block", "int8-dynamic", "hif8"}) {
    pipeline::QuantizeCheckpointOptions opt;
    opt.scheme = scheme;
    opt.selection.include_lm_head = true;
    pipeline::quantize_checkpoint(tiny_model(GetParam()), tmp.path() / scheme, opt);
    variants.emplace_back(scheme, tmp.path() / scheme);
  }
  Matrix f32_logits;
  for (const auto& [name, dir] : variants) {
    SCOPED_TRACE(name);
    const Matrix expected = Reference(dir).forward(tokens);
    const Matrix got = engine_logits(dir, tokens);
    EXPECT_LT(max_relative_error(got, expected), 1e-5);
    if (name == "f32") f32_logits = got;
    else EXPECT_GT(max_relative_error(got, f32_logits), 1e-6) << "the weights should differ from f32";
  }
}

TEST_P(EveryArch, ActivationQuantizationMatchesReference) {
  test::TempDir tmp;
  const std::vector<int32_t> tokens = {9, 18, 27, 36, 45, 54, 63};
  for (const char* scheme : {"fp8-dynamic", "int8-dynamic", "hif8"}) {
    SCOPED_TRACE(scheme);
    pipeline::QuantizeCheckpointOptions opt;
    opt.scheme = scheme;
    pipeline::quantize_checkpoint(tiny_model(GetParam()), tmp.path() / scheme, opt);
    Reference ref(tmp.path() / scheme);
    const Matrix w8a16 = ref.forward(tokens);
    ASSERT_FALSE(ref.quantized.empty());
    ref.act_format = &format_info(std::string(scheme) == "int8-dynamic" ? FormatId::int8
                                  : std::string(scheme) == "hif8"       ? FormatId::hif8
                                                                        : FormatId::fp8_e4m3fn);
    const Matrix w8a8 = ref.forward(tokens);
    const Matrix got = engine_logits(tmp.path() / scheme, tokens, ActQuant::dynamic);
    // Float32 vs float64 inputs can land on different sides of a rounding boundary now and then.
    EXPECT_LT(max_relative_error(got, w8a8), 2e-3);
    EXPECT_LT(max_relative_error(engine_logits_stepwise(tmp.path() / scheme, tokens, ActQuant::dynamic), w8a8), 2e-3)
        << "decoding token by token";
    EXPECT_GT(max_relative_error(w8a8, w8a16), 1e-4) << "activation quantization should change the logits";
  }
}

INSTANTIATE_TEST_SUITE_P(Archs, EveryArch, testing::ValuesIn(kArchs));

class FamilyArch : public testing::TestWithParam<std::string> {};

// quantize keeps working: norms, routers, sinks and embeddings stay float, the linears become 8-bit,
// and the engine runs the 8-bit checkpoint as it runs the float one holding the same weights
// quantized and back (the fake-quant export).
TEST_P(FamilyArch, QuantizedCheckpointRunsCloseToFloat) {
  test::TempDir tmp;
  const nlohmann::json ref = read_json(tiny_model(GetParam()) / "reference_logits.json");
  const std::vector<int32_t> tokens = ref["tokens"].get<std::vector<int32_t>>();
  const Matrix f32 = engine_logits(tiny_model(GetParam()), tokens);
  for (const auto& [scheme, fake] : {std::pair{"fp8-dynamic", "fake-fp8"}, std::pair{"hif8", "fake-hif8"}}) {
    SCOPED_TRACE(scheme);
    pipeline::QuantizeCheckpointOptions opt;
    opt.scheme = scheme;
    pipeline::quantize_checkpoint(tiny_model(GetParam()), tmp.path() / scheme, opt);
    opt.scheme = fake;
    pipeline::quantize_checkpoint(tiny_model(GetParam()), tmp.path() / fake, opt);
    const io::Checkpoint out = io::Checkpoint::open(tmp.path() / scheme);
    int eight_bit = 0;
    for (const auto& e : out.tensors()) {
      const std::string& n = e.info->name;
      const bool kept = n.find("norm") != std::string::npos || n.find("router") != std::string::npos ||
                        n.find("sinks") != std::string::npos || n.find("embed_tokens") != std::string::npos || n.ends_with(".bias");
      if (kept) {
        EXPECT_TRUE(io::is_float_wide(e.info->dtype)) << n;
      }
      if (n.ends_with("proj.weight")) {
        EXPECT_FALSE(io::is_float_wide(e.info->dtype)) << n;
        ++eight_bit;
      }
    }
    EXPECT_GT(eight_bit, 0);
    const Matrix eight_bit_logits = engine_logits(tmp.path() / scheme, tokens);
    EXPECT_GT(max_relative_error(eight_bit_logits, f32), 1e-6) << "the weights should differ from f32";
    // The fake-quant export keeps the source dtype: MXFP4 experts are BF16, which rounds the scaled values.
    const double tolerance = GetParam() == "gpt_oss_mxfp4" ? 3e-3 : 1e-5;
    EXPECT_LT(max_relative_error(eight_bit_logits, engine_logits(tmp.path() / fake, tokens)), tolerance);
  }
}

INSTANTIATE_TEST_SUITE_P(Families, FamilyArch, testing::ValuesIn(kFamilyArchs));

// A config.json as transformers 4 writes it (Gemma 3: rope_theta + rope_local_base_freq + rope_scaling,
// sliding_window_pattern instead of layer_types) gives the same model as transformers 5's.
TEST(Engine, Gemma3ConfigOfTransformers4) {
  test::TempDir tmp;
  fs::copy(tiny_model("gemma3"), tmp.path() / "v4");
  nlohmann::json c = read_json(tmp.path() / "v4" / "config.json");
  c.erase("rope_parameters");
  c.erase("layer_types");
  c["rope_theta"] = 1000000.0;
  c["rope_local_base_freq"] = 10000.0;
  c["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 8.0}};
  c["sliding_window_pattern"] = 3;
  std::ofstream(tmp.path() / "v4" / "config.json") << c.dump();
  const nlohmann::json ref = read_json(tiny_model("gemma3") / "reference_logits.json");
  const Matrix got = engine_logits(tmp.path() / "v4", ref["tokens"].get<std::vector<int32_t>>());
  EXPECT_LT(max_relative_error(got, json_matrix(ref["logits"])), 1e-5);
}

// The MXFP4 experts are split per expert, dequantized exactly: the same tensors as from BF16.
TEST(Engine, GptOssMxfp4ExpertsLoadAsPerExpertLinears) {
  const io::Checkpoint ck = io::Checkpoint::open(tiny_model("gpt_oss_mxfp4"));
  EXPECT_FALSE(ck.config().contains("quantization_config")) << "the mxfp4 config no longer describes any tensor";
  EXPECT_EQ(ck.find("model.layers.0.mlp.experts.gate_up_proj_blocks"), nullptr);
  const auto* gate = ck.find("model.layers.1.mlp.experts.3.gate_proj.weight");
  ASSERT_NE(gate, nullptr);
  EXPECT_EQ(gate->info->dtype, io::TensorDType::BF16);
  EXPECT_EQ(gate->info->shape, (std::vector<int64_t>{96, 64}));
  ASSERT_NE(ck.find("model.layers.1.mlp.experts.3.down_proj.bias"), nullptr);
}

// Prefill then one token at a time through the KV cache equals one forward over all positions.
TEST(Engine, IncrementalDecodingEqualsFullForward) {
  for (const std::string arch : {"llama3", "mistral", "qwen3_moe", "gemma2", "gemma3", "gpt_oss", "phi3"}) {
    SCOPED_TRACE(arch);
    const Model m = Model::load(tiny_model(arch), {ActQuant::none, 2});
    const std::vector<int32_t> tokens = {1, 2, 3, 50, 60, 70, 80, 90, 100, 110, 120, 7};  // longer than the sliding window
    KvCache full = m.new_cache(KvDType::f32, 32);
    const std::vector<float> all = m.forward(tokens, full, true);
    KvCache inc = m.new_cache(KvDType::f32, 32);
    const auto V = size_t(m.config().vocab);
    std::vector<float> step = m.forward(std::span(tokens).first(5), inc);
    for (size_t t = 5; t <= tokens.size(); ++t) {
      for (size_t i = 0; i < V; ++i) ASSERT_NEAR(step[i], all[(t - 1) * V + i], 1e-5) << "position " << t - 1;
      if (t < tokens.size()) step = m.forward(std::span(tokens).subspan(t, 1), inc);
    }
    EXPECT_EQ(inc.size(), int64_t(tokens.size()));
  }
}

// 8-bit and bf16 KV caches change the logits a little, not much.
TEST(Engine, QuantizedKvCacheStaysClose) {
  const std::vector<int32_t> tokens = {11, 22, 33, 44, 55, 66, 77, 88, 99, 110};
  const Matrix base = engine_logits(tiny_model("llama3"), tokens);
  for (KvDType kv : {KvDType::bf16, KvDType::fp8_e4m3, KvDType::fp8_e5m2, KvDType::hif8}) {
    SCOPED_TRACE(kv_dtype_name(kv));
    const double err = max_relative_error(engine_logits(tiny_model("llama3"), tokens, ActQuant::none, kv), base);
    EXPECT_GT(err, 0.0);
    EXPECT_LT(err, kv == KvDType::bf16 ? 0.01 : 0.08);
  }
}

TEST(Engine, BadInputsAreClearErrors) {
  test::TempDir tmp;
  auto expect_error = [](const auto& fn, const std::string& fragment) {
    try {
      fn();
      ADD_FAILURE() << "expected an error containing " << fragment;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  const fs::path bad = tmp.path() / "bad";
  fs::copy(tiny_model("qwen3"), bad);
  nlohmann::json c = read_json(bad / "config.json");
  c["architectures"] = {"GPTNeoXForCausalLM"};
  std::ofstream(bad / "config.json") << c.dump();
  expect_error([&] { Model::load(bad); }, "architecture 'GPTNeoXForCausalLM' is not supported");
  c["architectures"] = {"LlamaForCausalLM"};  // a Qwen3 checkpoint read as Llama is fine; drop a tensor instead
  c["num_hidden_layers"] = 3;
  std::ofstream(bad / "config.json") << c.dump();
  expect_error([&] { Model::load(bad); }, "missing tensor 'model.layers.2.input_layernorm.weight'");
  const Model m = Model::load(tiny_model("qwen3"));
  KvCache cache = m.new_cache(KvDType::f32, 4);
  const std::vector<int32_t> out_of_range = {1, 128};
  expect_error([&] { m.forward(out_of_range, cache); }, "token id 128 is outside the vocabulary");
  const std::vector<int32_t> too_long = {1, 2, 3, 4, 5};
  expect_error([&] { m.forward(too_long, cache); }, "exceeds the KV cache");
  expect_error([] { parse_kv_dtype("fp4"); }, "unknown KV cache dtype");
}

}  // namespace
}  // namespace hifp8::model
