#include "hifp8/model/config.h"

#include <cmath>

#include "hifp8/error.h"
#include "hifp8/io/json_fields.h"

namespace hifp8::model {
namespace {

// Sizes beyond these are not a model but a typo or a hostile file (they would overflow the arithmetic
// of shapes long before any allocation could fail politely).
constexpr int64_t kMaxWidth = int64_t{1} << 20, kMaxCount = int64_t{1} << 14, kMaxPositions = int64_t{1} << 26;

std::vector<double> factors(const io::JsonFields& s, const char* key, int64_t count) {
  if (!s.has(key) || !s.raw(key).is_array() || int64_t(s.raw(key).size()) != count)
    s.fail(key, "a list of " + std::to_string(count) + " numbers (one per rotary frequency)");
  std::vector<double> out;
  for (const auto& v : s.raw(key)) {
    if (!v.is_number() || !(v.get<double>() > 0)) s.fail(key, "positive numbers");
    out.push_back(v.get<double>());
  }
  return out;
}

// One rope_scaling / rope_parameters object (transformers 4 writes rope_theta + rope_scaling,
// transformers 5 writes rope_parameters).
void read_rope_object(const io::JsonFields& s, const std::string& key, const ModelConfig& m, double config_original_max, RopeConfig& r) {
  r.theta = s.number("rope_theta", 0, 1e12, true).value_or(r.theta);
  const std::string type = s.string("rope_type").value_or(s.string("type").value_or("default"));
  const double original = s.number("original_max_position_embeddings", 0, double(kMaxPositions), true).value_or(config_original_max);
  if (type == "default") {
    r.type = RopeConfig::Type::standard;
  } else if (type == "linear") {
    r.type = RopeConfig::Type::linear;
    r.factor = s.number("factor", 0, 1e6, true).value_or(1.0);
  } else if (type == "llama3") {
    r.type = RopeConfig::Type::llama3;
    r.factor = s.number("factor", 0, 1e6, true).value_or(8.0);
    r.low_freq_factor = s.number("low_freq_factor", 0, 1e6, true).value_or(1.0);
    r.high_freq_factor = s.number("high_freq_factor", 0, 1e6, true).value_or(4.0);
    r.original_max_positions = s.number("original_max_position_embeddings", 0, double(kMaxPositions), true).value_or(8192);
    // The ramp between the two wavelengths divides by their difference.
    if (r.high_freq_factor <= r.low_freq_factor)
      s.fail("high_freq_factor", "greater than low_freq_factor (" + std::to_string(r.low_freq_factor) + ")");
  } else if (type == "yarn") {
    r.type = RopeConfig::Type::yarn;
    r.factor = s.number("factor", 0, 1e6, true).value_or(1.0);
    r.original_max_positions = original;
    r.beta_fast = s.number("beta_fast", 0, 1e6, true).value_or(32);
    r.beta_slow = s.number("beta_slow", 0, 1e6, true).value_or(1);
    r.truncate = s.boolean("truncate").value_or(true);
    r.attention_factor = s.number("attention_factor", 0, 1e6, true);
  } else if (type == "longrope") {
    r.type = RopeConfig::Type::longrope;
    r.original_max_positions = original;
    r.factor = double(m.max_positions) / original;
    r.attention_factor = s.number("attention_factor", 0, 1e6, true);
    r.short_factor = factors(s, "short_factor", m.head_dim / 2);
    r.long_factor = factors(s, "long_factor", m.head_dim / 2);
  } else {
    throw Error("config.json: " + key + " type '" + type + "' is not supported (default, linear, llama3, yarn, longrope)");
  }
}

void read_rope(const io::JsonFields& c, ModelConfig& m) {
  const double original = c.number("original_max_position_embeddings", 0, double(kMaxPositions), true).value_or(double(m.max_positions));
  m.rope.theta = c.number("rope_theta", 0, 1e12, true).value_or(m.arch == Arch::gemma3 ? 1e6 : m.rope.theta);
  if (m.arch == Arch::gemma3) {
    m.local_rope = RopeConfig{};
    m.local_rope->theta = c.number("rope_local_base_freq", 0, 1e12, true).value_or(10000.0);
  }
  for (const char* key : {"rope_scaling", "rope_parameters"}) {
    const auto s = c.object(key);
    if (!s) continue;
    // Gemma 3 in transformers 5: {"full_attention": {...}, "sliding_attention": {...}}.
    if (s->has("full_attention") || s->has("sliding_attention")) {
      if (const auto full = s->object("full_attention")) read_rope_object(*full, std::string(key) + ".full_attention", m, original, m.rope);
      if (const auto local = s->object("sliding_attention")) {
        if (!m.local_rope) m.local_rope = RopeConfig{};
        read_rope_object(*local, std::string(key) + ".sliding_attention", m, original, *m.local_rope);
      }
      continue;
    }
    read_rope_object(*s, key, m, original, m.rope);
  }
}

// layer_types (transformers 5, and GPT-OSS / Gemma 3 configs) or each family's pattern.
void read_sliding_layers(const io::JsonFields& c, ModelConfig& m) {
  const bool alternating = m.arch == Arch::gemma2 || m.arch == Arch::gemma3 || m.arch == Arch::gpt_oss;
  if (m.arch == Arch::mistral || m.arch == Arch::mixtral || m.arch == Arch::phi3 || alternating)
    m.sliding_window = c.integer("sliding_window", 1, kMaxPositions);
  if (!m.sliding_window) return;
  m.sliding_layers.assign(size_t(m.layers), true);
  if (c.has("layer_types")) {
    const auto& types = c.raw("layer_types");
    if (!types.is_array() || int64_t(types.size()) != m.layers) c.fail("layer_types", "a list of num_hidden_layers strings");
    for (size_t i = 0; i < types.size(); ++i) {
      const std::string type = types[i].is_string() ? types[i].get<std::string>() : "";
      if (type != "sliding_attention" && type != "full_attention") c.fail("layer_types", "sliding_attention or full_attention");
      m.sliding_layers[i] = type == "sliding_attention";
    }
  } else if (m.arch == Arch::gemma3) {
    const int64_t pattern = c.integer("sliding_window_pattern", 1, kMaxCount).value_or(6);
    for (int64_t i = 0; i < m.layers; ++i) m.sliding_layers[size_t(i)] = (i + 1) % pattern != 0;
  } else if (alternating) {
    for (int64_t i = 0; i < m.layers; ++i) m.sliding_layers[size_t(i)] = i % 2 == 0;
  }
}

void read_experts(const io::JsonFields& c, ModelConfig& m) {
  if (m.arch == Arch::qwen3_moe) {
    // transformers 4 writes num_experts, 5 writes num_local_experts.
    m.experts = c.has("num_experts") ? c.required_integer("num_experts", 1, kMaxCount)
                                     : c.required_integer("num_local_experts", 1, kMaxCount);
    m.experts_per_token = c.required_integer("num_experts_per_tok", 1, m.experts);
    m.expert_intermediate = c.required_integer("moe_intermediate_size", 1, kMaxWidth * 4);
    m.normalize_top_k = c.boolean("norm_topk_prob").value_or(true);
    m.intermediate = c.integer("intermediate_size", 1, kMaxWidth * 4).value_or(m.expert_intermediate);
  } else if (m.arch == Arch::mixtral || m.arch == Arch::gpt_oss) {
    m.experts = c.required_integer("num_local_experts", 1, kMaxCount);
    m.experts_per_token = c.required_integer("num_experts_per_tok", 1, m.experts);
    m.expert_intermediate = m.intermediate = c.required_integer("intermediate_size", 1, kMaxWidth * 4);
    if (m.arch == Arch::gpt_oss) {
      m.softmax_after_top_k = true;
      m.swiglu_limit = c.number("swiglu_limit", 0, 1e6, true).value_or(7.0);
    }
  } else {
    m.intermediate = c.required_integer("intermediate_size", 1, kMaxWidth * 4);
  }
}

void read_gemma(const io::JsonFields& c, ModelConfig& m) {
  m.gemma_norms = true;
  m.embedding_scale = std::sqrt(double(m.hidden));
  m.attention_scale = 1.0 / std::sqrt(c.number("query_pre_attn_scalar", 0, 1e9, true).value_or(double(m.head_dim)));
  const std::string act = c.string("hidden_activation").value_or(c.string("hidden_act").value_or("gelu_pytorch_tanh"));
  if (act != "gelu_pytorch_tanh" && act != "gelu_tanh") c.fail("hidden_activation", "gelu_pytorch_tanh");
  m.activation = Activation::gelu_tanh;
  m.attention_softcap = c.number("attn_logit_softcapping", 0, 1e9, true);
  m.final_softcap = c.number("final_logit_softcapping", 0, 1e9, true);
  m.tie_embeddings = c.boolean("tie_word_embeddings").value_or(true);
}

}  // namespace

std::span<const SupportedArchitecture> supported_architectures() {
  static constexpr SupportedArchitecture kArchitectures[] = {
      {"LlamaForCausalLM", Arch::llama, true},        {"MistralForCausalLM", Arch::mistral, true},
      {"Qwen2ForCausalLM", Arch::qwen2, true},        {"Qwen3ForCausalLM", Arch::qwen3, true},
      {"Qwen3MoeForCausalLM", Arch::qwen3_moe, true}, {"MixtralForCausalLM", Arch::mixtral, true},
      {"Phi3ForCausalLM", Arch::phi3, false},         {"Gemma2ForCausalLM", Arch::gemma2, false},
      {"Gemma3ForCausalLM", Arch::gemma3, false},     {"GptOssForCausalLM", Arch::gpt_oss, false},
  };
  return kArchitectures;
}

std::optional<Arch> architecture_of(const std::string& name) {
  for (const SupportedArchitecture& a : supported_architectures())
    if (a.class_name == name) return a.arch;
  return std::nullopt;
}

ModelConfig ModelConfig::from_json(const nlohmann::json& json) {
  const io::JsonFields c(json, "config.json");
  ModelConfig m;
  if (!c.has("architectures") || !c.raw("architectures").is_array() || c.raw("architectures").empty() ||
      !c.raw("architectures")[0].is_string())
    c.fail("architectures", "a list of model class names");
  m.architecture = c.raw("architectures")[0].get<std::string>();
  const std::optional<Arch> arch = architecture_of(m.architecture);
  if (!arch)
    throw Error("architecture '" + m.architecture + "' is not supported (LlamaForCausalLM, MistralForCausalLM, " +
                "Qwen2ForCausalLM, Qwen3ForCausalLM, Qwen3MoeForCausalLM, MixtralForCausalLM, Phi3ForCausalLM, " +
                "Gemma2ForCausalLM, Gemma3ForCausalLM, GptOssForCausalLM)");
  m.arch = *arch;
  m.hidden = c.required_integer("hidden_size", 1, kMaxWidth);
  m.layers = c.required_integer("num_hidden_layers", 1, kMaxCount);
  m.heads = c.required_integer("num_attention_heads", 1, kMaxCount);
  m.kv_heads = c.integer("num_key_value_heads", 1, m.heads).value_or(m.heads);
  m.vocab = c.required_integer("vocab_size", 1, kMaxVocabulary);
  m.head_dim = c.integer("head_dim", 2, kMaxWidth).value_or(m.hidden / m.heads);
  if (m.heads % m.kv_heads != 0) c.fail("num_key_value_heads", "a divisor of num_attention_heads (" + std::to_string(m.heads) + ")");
  if (m.head_dim < 2 || m.head_dim % 2 != 0) c.fail("head_dim", "a positive even number (hidden_size / num_attention_heads if absent)");
  m.max_positions = c.integer("max_position_embeddings", 1, kMaxPositions).value_or(4096);
  m.rms_eps = c.number("rms_norm_eps", 0, 1, true).value_or(1e-6);
  m.attention_scale = 1.0 / std::sqrt(double(m.head_dim));
  read_rope(c, m);
  m.tie_embeddings = c.boolean("tie_word_embeddings").value_or(false);
  m.qk_norm = m.arch == Arch::qwen3 || m.arch == Arch::qwen3_moe || m.arch == Arch::gemma3;
  m.fused_projections = m.arch == Arch::phi3;
  m.attention_sinks = m.arch == Arch::gpt_oss;
  if (m.arch == Arch::gemma2 || m.arch == Arch::gemma3) read_gemma(c, m);
  read_sliding_layers(c, m);
  read_experts(c, m);
  if (const auto bos = c.integers("bos_token_id", 0, m.vocab - 1); bos && !bos->empty()) m.bos_token = bos->front();
  m.eos_tokens = c.integers("eos_token_id", 0, m.vocab - 1).value_or(std::vector<int64_t>{});
  return m;
}

}  // namespace hifp8::model
