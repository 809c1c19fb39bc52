#include "hifp8/model/config.h"

#include "hifp8/error.h"

namespace hifp8::model {
namespace {

int64_t required_int(const nlohmann::json& c, const char* key) {
  const auto it = c.find(key);
  if (it == c.end() || !it->is_number_integer() || it->get<int64_t>() <= 0)
    throw Error(std::string("config.json: \"") + key + "\" is missing or not a positive integer");
  return it->get<int64_t>();
}

int64_t int_or(const nlohmann::json& c, const char* key, int64_t fallback) {
  const auto it = c.find(key);
  return it != c.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

double number_or(const nlohmann::json& c, const char* key, double fallback) {
  const auto it = c.find(key);
  return it != c.end() && it->is_number() ? it->get<double>() : fallback;
}

// transformers 4 writes rope_theta + rope_scaling; transformers 5 writes rope_parameters.
RopeConfig read_rope(const nlohmann::json& c) {
  RopeConfig r;
  r.theta = number_or(c, "rope_theta", r.theta);
  for (const char* key : {"rope_scaling", "rope_parameters"}) {
    const auto it = c.find(key);
    if (it == c.end() || !it->is_object()) continue;
    r.theta = number_or(*it, "rope_theta", r.theta);
    const std::string type = it->value("rope_type", it->value("type", std::string("default")));
    if (type == "default") continue;
    if (type != "llama3") throw Error("config.json: rope type '" + type + "' is not supported (default, llama3)");
    r.llama3 = true;
    r.factor = number_or(*it, "factor", 8.0);
    r.low_freq_factor = number_or(*it, "low_freq_factor", 1.0);
    r.high_freq_factor = number_or(*it, "high_freq_factor", 4.0);
    r.original_max_positions = number_or(*it, "original_max_position_embeddings", 8192);
  }
  return r;
}

std::vector<int64_t> token_list(const nlohmann::json& c, const char* key) {
  const auto it = c.find(key);
  if (it == c.end()) return {};
  if (it->is_number_integer()) return {it->get<int64_t>()};
  std::vector<int64_t> out;
  if (it->is_array())
    for (const auto& v : *it)
      if (v.is_number_integer()) out.push_back(v.get<int64_t>());
  return out;
}

}  // namespace

ModelConfig ModelConfig::from_json(const nlohmann::json& c) {
  ModelConfig m;
  const auto archs = c.find("architectures");
  if (archs == c.end() || !archs->is_array() || archs->empty() || !(*archs)[0].is_string())
    throw Error("config.json has no \"architectures\"");
  m.architecture = (*archs)[0].get<std::string>();
  if (m.architecture == "LlamaForCausalLM") m.arch = Arch::llama;
  else if (m.architecture == "MistralForCausalLM") m.arch = Arch::mistral;
  else if (m.architecture == "Qwen2ForCausalLM") m.arch = Arch::qwen2;
  else if (m.architecture == "Qwen3ForCausalLM") m.arch = Arch::qwen3;
  else if (m.architecture == "Qwen3MoeForCausalLM") m.arch = Arch::qwen3_moe;
  else if (m.architecture == "MixtralForCausalLM") m.arch = Arch::mixtral;
  else
    throw Error("architecture '" + m.architecture + "' is not supported (LlamaForCausalLM, MistralForCausalLM, " +
                "Qwen2ForCausalLM, Qwen3ForCausalLM, Qwen3MoeForCausalLM, MixtralForCausalLM)");
  m.hidden = required_int(c, "hidden_size");
  m.layers = required_int(c, "num_hidden_layers");
  m.heads = required_int(c, "num_attention_heads");
  m.kv_heads = int_or(c, "num_key_value_heads", m.heads);
  m.vocab = required_int(c, "vocab_size");
  m.head_dim = int_or(c, "head_dim", m.hidden / m.heads);
  if (m.kv_heads <= 0 || m.heads % m.kv_heads != 0)
    throw Error("config.json: num_attention_heads must be a multiple of num_key_value_heads");
  if (m.head_dim <= 0 || m.head_dim % 2 != 0) throw Error("config.json: head_dim must be positive and even");
  m.max_positions = int_or(c, "max_position_embeddings", 4096);
  m.rms_eps = number_or(c, "rms_norm_eps", 1e-6);
  m.rope = read_rope(c);
  m.tie_embeddings = c.value("tie_word_embeddings", false);
  m.qk_norm = m.arch == Arch::qwen3 || m.arch == Arch::qwen3_moe;
  if (m.arch == Arch::mistral || m.arch == Arch::mixtral) {
    const auto sw = c.find("sliding_window");
    if (sw != c.end() && sw->is_number_integer()) m.sliding_window = sw->get<int64_t>();
  }
  if (m.arch == Arch::qwen3_moe) {
    // transformers 4 writes num_experts, 5 writes num_local_experts.
    m.experts = int_or(c, "num_experts", int_or(c, "num_local_experts", 0));
    if (m.experts <= 0) throw Error("config.json: \"num_experts\" is missing or not a positive integer");
    m.experts_per_token = required_int(c, "num_experts_per_tok");
    m.expert_intermediate = required_int(c, "moe_intermediate_size");
    m.normalize_top_k = c.value("norm_topk_prob", true);
    m.intermediate = int_or(c, "intermediate_size", m.expert_intermediate);
  } else if (m.arch == Arch::mixtral) {
    m.experts = required_int(c, "num_local_experts");
    m.experts_per_token = required_int(c, "num_experts_per_tok");
    m.expert_intermediate = m.intermediate = required_int(c, "intermediate_size");
  } else {
    m.intermediate = required_int(c, "intermediate_size");
  }
  if (m.experts && m.experts_per_token > m.experts) throw Error("config.json: num_experts_per_tok > number of experts");
  const std::vector<int64_t> bos = token_list(c, "bos_token_id");
  if (!bos.empty()) m.bos_token = bos[0];
  m.eos_tokens = token_list(c, "eos_token_id");
  return m;
}

}  // namespace hifp8::model
