#include "hifp8/io/synthetic_checkpoint.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hifp8/io/file_bytes.h"
#include "hifp8/error.h"
#include "hifp8/io/output_dir.h"
#include "hifp8/io/sharded_writer.h"
#include "hifp8/kernel/array_ops.h"
#include "hifp8/kernel/parallel.h"

namespace hifp8::io {
namespace {

struct Preset {
  std::string name, architecture;
  int64_t hidden, intermediate, layers, heads, kv_heads, vocab;
  int64_t experts = 0, experts_per_token = 0, expert_intermediate = 0;
  bool mixtral_names = false, tied = false, qk_norm = false;
  double rope_theta = 10000.0;
  int64_t head_dim = 0;  // 0: hidden / heads
  int64_t dim() const { return head_dim ? head_dim : hidden / heads; }
};

const std::vector<Preset>& presets() {
  static const std::vector<Preset> p = {
      {"tiny", "LlamaForCausalLM", 256, 688, 2, 8, 4, 1000},
      {"tiny-moe", "Qwen3MoeForCausalLM", 256, 688, 2, 8, 4, 1000, 8, 2, 192, false, false, true, 1e6},
      {"tiny-mixtral", "MixtralForCausalLM", 256, 512, 2, 8, 4, 1000, 4, 2, 512, true, false, false, 1e6},
      {"llama-100m", "LlamaForCausalLM", 768, 2048, 12, 12, 4, 32000},
      {"llama3-8b", "LlamaForCausalLM", 4096, 14336, 32, 32, 8, 128256, 0, 0, 0, false, false, false, 500000.0},
      {"llama3-70b-layer", "LlamaForCausalLM", 8192, 28672, 1, 64, 8, 128256, 0, 0, 0, false, false, false, 500000.0},
      // Qwen3-30B-A3B's shapes: 128 experts of 768, 8 per token, head_dim 128 (q is 4096 wide).
      {"qwen3-30b-a3b", "Qwen3MoeForCausalLM", 2048, 6144, 48, 32, 4, 151936, 128, 8, 768, false, false, true, 1e6, 128},
  };
  return p;
}

enum class Init { linear, embedding, norm };

struct SynthTensor {
  std::string name;
  std::vector<int64_t> shape;
  Init init;
};

std::vector<SynthTensor> tensor_list(const Preset& p, int64_t layers) {
  const int64_t head_dim = p.dim();
  std::vector<SynthTensor> t = {{"model.embed_tokens.weight", {p.vocab, p.hidden}, Init::embedding}};
  for (int64_t l = 0; l < layers; ++l) {
    const std::string L = "model.layers." + std::to_string(l) + ".";
    t.push_back({L + "input_layernorm.weight", {p.hidden}, Init::norm});
    t.push_back({L + "self_attn.q_proj.weight", {p.heads * head_dim, p.hidden}, Init::linear});
    t.push_back({L + "self_attn.k_proj.weight", {p.kv_heads * head_dim, p.hidden}, Init::linear});
    t.push_back({L + "self_attn.v_proj.weight", {p.kv_heads * head_dim, p.hidden}, Init::linear});
    t.push_back({L + "self_attn.o_proj.weight", {p.hidden, p.heads * head_dim}, Init::linear});
    if (p.qk_norm) {
      t.push_back({L + "self_attn.q_norm.weight", {head_dim}, Init::norm});
      t.push_back({L + "self_attn.k_norm.weight", {head_dim}, Init::norm});
    }
    t.push_back({L + "post_attention_layernorm.weight", {p.hidden}, Init::norm});
    if (p.experts == 0) {
      t.push_back({L + "mlp.gate_proj.weight", {p.intermediate, p.hidden}, Init::linear});
      t.push_back({L + "mlp.up_proj.weight", {p.intermediate, p.hidden}, Init::linear});
      t.push_back({L + "mlp.down_proj.weight", {p.hidden, p.intermediate}, Init::linear});
      continue;
    }
    const std::string moe = L + (p.mixtral_names ? "block_sparse_moe." : "mlp.");
    t.push_back({moe + "gate.weight", {p.experts, p.hidden}, Init::linear});  // the router
    for (int64_t e = 0; e < p.experts; ++e) {
      const std::string E = moe + "experts." + std::to_string(e) + ".";
      const int64_t I = p.expert_intermediate;
      t.push_back({E + (p.mixtral_names ? "w1.weight" : "gate_proj.weight"), {I, p.hidden}, Init::linear});
      t.push_back({E + (p.mixtral_names ? "w2.weight" : "down_proj.weight"), {p.hidden, I}, Init::linear});
      t.push_back({E + (p.mixtral_names ? "w3.weight" : "up_proj.weight"), {I, p.hidden}, Init::linear});
    }
  }
  t.push_back({"model.norm.weight", {p.hidden}, Init::norm});
  if (!p.tied) t.push_back({"lm_head.weight", {p.vocab, p.hidden}, Init::embedding});
  return t;
}

nlohmann::json config_json(const Preset& p, int64_t layers, TensorDType dtype) {
  nlohmann::json c = {{"architectures", {p.architecture}},
                      {"model_type", p.architecture == "LlamaForCausalLM" ? "llama"
                                     : p.architecture == "MixtralForCausalLM" ? "mixtral" : "qwen3_moe"},
                      {"hidden_size", p.hidden},
                      {"intermediate_size", p.intermediate},
                      {"num_hidden_layers", layers},
                      {"num_attention_heads", p.heads},
                      {"num_key_value_heads", p.kv_heads},
                      {"head_dim", p.dim()},
                      {"vocab_size", p.vocab},
                      {"max_position_embeddings", 4096},
                      {"rms_norm_eps", 1e-5},
                      {"rope_theta", p.rope_theta},
                      {"hidden_act", "silu"},
                      {"tie_word_embeddings", p.tied},
                      {"torch_dtype", dtype == TensorDType::BF16 ? "bfloat16" : dtype == TensorDType::F16 ? "float16" : "float32"},
                      {"bos_token_id", 1},
                      {"eos_token_id", 2},
                      {"hifp8_synthetic", true}};
  if (p.experts) {
    c[p.mixtral_names ? "num_local_experts" : "num_experts"] = p.experts;
    c["num_experts_per_tok"] = p.experts_per_token;
    if (!p.mixtral_names) c["moe_intermediate_size"] = p.expert_intermediate;
  }
  return c;
}

uint64_t mix(uint64_t x) {  // splitmix64 finaliser: a counter-based generator, same values for any threads
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Laplacian(0, b) from a 64-bit random number; input channels whose hash is small get 10-30x larger
// values (the outlier channels real LLM weights and activations show).
float sample(const SynthTensor& t, uint64_t key, uint64_t index, int64_t cols) {
  const uint64_t r = mix(key ^ mix(index));
  const double u = (double(r >> 11) + 0.5) * 0x1p-53;  // (0, 1)
  double v = u < 0.5 ? std::log(2 * u) : -std::log(2 * (1 - u));
  switch (t.init) {
    case Init::norm: return float(1.0 + 0.05 * v);
    case Init::embedding: return float(0.02 * v);
    case Init::linear: {
      const uint64_t column = index % uint64_t(cols);
      const uint64_t c = mix(key + 0x51ed27ull * column);
      if ((c & 1023) < 5) v *= 10.0 + double((c >> 10) % 21);  // ~0.5% of input channels
      return float(0.02 * v);
    }
  }
  return 0;
}

}  // namespace

std::vector<std::string> synthetic_presets() {
  std::vector<std::string> names;
  for (const Preset& p : presets()) names.push_back(p.name);
  return names;
}

uint64_t write_synthetic_checkpoint(const std::filesystem::path& dir, const SyntheticOptions& opt) {
  const Preset* preset = nullptr;
  for (const Preset& p : presets())
    if (p.name == opt.preset) preset = &p;
  if (!preset) {
    std::string known;
    for (const std::string& n : synthetic_presets()) known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown synthetic config '" + opt.preset + "' (known: " + known + ")");
  }
  if (!is_float_wide(opt.dtype)) throw Error("synthetic checkpoints are F32, F16 or BF16");
  if (opt.layers < 0) throw Error("--layers must be >= 0");
  const int64_t layers = opt.layers ? opt.layers : preset->layers;
  const std::vector<SynthTensor> tensors = tensor_list(*preset, layers);
  std::vector<TensorSpec> specs;
  for (const SynthTensor& t : tensors) specs.push_back({t.name, opt.dtype, t.shape});

  OutputDir out(dir, opt.force);
  const kernel::DType wide = kernel_dtype(opt.dtype);
  const size_t item = dtype_size(opt.dtype);
  uint64_t total = 0;
  {
    ShardedWriter writer(out.path(), specs, opt.max_shard_bytes);
    constexpr size_t kChunk = size_t{8} << 20;
    std::vector<float> values(kChunk);
    std::vector<uint8_t> bytes(kChunk * item);
    for (size_t ti = 0; ti < tensors.size(); ++ti) {
      const SynthTensor& t = tensors[ti];
      const uint64_t n = specs[ti].nbytes() / item;
      const int64_t cols = t.shape.back();
      const uint64_t key = mix(opt.seed * 0x1000193ull + ti);
      writer.begin_tensor(t.name);
      for (uint64_t i = 0; i < n; i += kChunk) {
        const size_t len = size_t(std::min<uint64_t>(kChunk, n - i));
        kernel::parallel_for(len, opt.threads, [&](size_t b, size_t e) {
          for (size_t k = b; k < e; ++k) values[k] = sample(t, key, i + k, cols);
        });
        kernel::narrow(values.data(), bytes.data(), wide, len, opt.threads);
        writer.write({bytes.data(), len * item});
      }
      total += n * item;
    }
    writer.finish();
  }
  write_file(out.path() / "config.json", config_json(*preset, layers, opt.dtype).dump(2) + "\n");
  out.commit();
  return total;
}

}  // namespace hifp8::io
