#include "hifp8/model/model.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "hifp8/error.h"
#include "hifp8/kernel/array_ops.h"
#include "hifp8/kernel/parallel.h"

namespace hifp8::model {
namespace {

std::vector<float> load_vector(const io::Checkpoint& ckpt, const std::string& name, int64_t size) {
  if (!ckpt.find(name)) throw Error("missing tensor '" + name + "'");
  std::vector<float> v = io::dequantize_tensor(ckpt, name);
  if (int64_t(v.size()) != size)
    throw Error("tensor '" + name + "' has " + std::to_string(v.size()) + " values, expected " + std::to_string(size));
  return v;
}

void check_shape(std::pair<int64_t, int64_t> shape, const std::string& name, int64_t out, int64_t in) {
  if (shape.first != out || shape.second != in)
    throw Error("tensor '" + name + ".weight' is [" + std::to_string(shape.first) + ", " + std::to_string(shape.second) +
                "], expected [" + std::to_string(out) + ", " + std::to_string(in) + "]");
}

// A NaN or infinity in the hidden state is a broken checkpoint (a NaN weight, an infinite scale), not
// a result: argmax over NaN would print token 0 forever. One pass over [tokens, hidden] per layer,
// small beside the layer's matrix products.
void require_finite(const std::vector<float>& values, const std::string& where) {
  float sum = 0;
  for (float v : values) sum += v * 0.0f;  // NaN if any value is NaN or infinite; vectorises
  if (sum == 0) return;
  throw Error("non-finite values (NaN or Inf) produced by " + where + ": the checkpoint or its config holds a value the "
              "model cannot compute with (hifp8 inspect --validate checks the weights)");
}

// transformers' inverse frequencies (modeling_rope_utils), in float32 where it computes in float32.
std::vector<float> base_inv_freq(const RopeConfig& r, int64_t dim) {
  std::vector<float> inv(size_t(dim / 2));
  for (size_t i = 0; i < inv.size(); ++i) inv[i] = 1.0f / std::pow(float(r.theta), float(2 * i) / float(dim));
  return inv;
}

void apply_llama3(const RopeConfig& r, std::vector<float>& inv) {
  const double low_wavelen = r.original_max_positions / r.low_freq_factor;
  const double high_wavelen = r.original_max_positions / r.high_freq_factor;
  for (float& f : inv) {
    const double wavelen = 2 * std::numbers::pi / f;
    if (wavelen > low_wavelen) {
      f = float(f / r.factor);
    } else if (wavelen >= high_wavelen) {
      const double smooth = (r.original_max_positions / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
      f = float((1 - smooth) * f / r.factor + smooth * f);
    }
  }
}

// YaRN: interpolated (divided by factor) low frequencies, extrapolated high ones, a linear ramp
// between the dimensions where beta_fast and beta_slow rotations fit the original context.
float apply_yarn(const RopeConfig& r, int64_t dim, std::vector<float>& inv) {
  auto correction_dim = [&](double rotations) {
    return dim * std::log(r.original_max_positions / (rotations * 2 * std::numbers::pi)) / (2 * std::log(r.theta));
  };
  double low = correction_dim(r.beta_fast), high = correction_dim(r.beta_slow);
  if (r.truncate) low = std::floor(low), high = std::ceil(high);
  low = std::max(low, 0.0), high = std::min(high, double(dim - 1));
  if (low == high) high += 0.001;  // transformers: prevents a division by zero
  for (size_t i = 0; i < inv.size(); ++i) {
    const float ramp = std::clamp((float(i) - float(low)) / float(high - low), 0.0f, 1.0f);
    const float extrapolation = 1.0f - ramp;
    const float interpolated = inv[i] / float(r.factor);
    inv[i] = interpolated * (1.0f - extrapolation) + inv[i] * extrapolation;
  }
  return float(r.attention_factor.value_or(r.factor <= 1 ? 1.0 : 0.1 * std::log(r.factor) + 1.0));
}

Model::RopeTable rope_table(const RopeConfig& r, int64_t dim) {
  Model::RopeTable t;
  t.inv_freq = base_inv_freq(r, dim);
  switch (r.type) {
    case RopeConfig::Type::standard: break;
    case RopeConfig::Type::linear:
      for (float& f : t.inv_freq) f /= float(r.factor);
      break;
    case RopeConfig::Type::llama3: apply_llama3(r, t.inv_freq); break;
    case RopeConfig::Type::yarn: t.scale = apply_yarn(r, dim, t.inv_freq); break;
    case RopeConfig::Type::longrope: {
      t.long_inv_freq = t.inv_freq;
      for (size_t i = 0; i < t.inv_freq.size(); ++i) {
        t.inv_freq[i] = 1.0f / (float(r.short_factor[i]) * (1.0f / t.inv_freq[i]));
        t.long_inv_freq[i] = 1.0f / (float(r.long_factor[i]) * (1.0f / t.long_inv_freq[i]));
      }
      t.long_after = int64_t(r.original_max_positions);
      t.scale = float(r.attention_factor.value_or(r.factor <= 1 ? 1.0 : std::sqrt(1 + std::log(r.factor) / std::log(r.original_max_positions))));
      break;
    }
  }
  return t;
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }
float gelu_tanh(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}
float softcap(float x, double cap) { return float(cap) * std::tanh(x / float(cap)); }

// Gemma's RMSNorm scales by (1 + w): the weight as the engine applies it.
std::vector<float> norm_weight(std::vector<float> w, const ModelConfig& c) {
  if (c.gemma_norms)
    for (float& x : w) x += 1.0f;
  return w;
}

}  // namespace

void Model::validate(const std::filesystem::path& dir) { load(dir, {}, true); }

Model Model::load(const std::filesystem::path& dir, const ModelOptions& options) { return load(dir, options, false); }

Model Model::load(const std::filesystem::path& dir, const ModelOptions& options, bool shapes_only) {
  Model m;
  m.ckpt_ = io::Checkpoint::open(dir);
  m.config_ = ModelConfig::from_json(m.ckpt_.config());
  m.layout_ = io::read_quantization_layout(m.ckpt_.config());
  m.options_ = options;
  if (m.options_.act_quant == ActQuant::automatic) m.options_.act_quant = ActQuant::none;  // the CPU's choice
  const ModelConfig& c = m.config_;
  const io::Checkpoint& ck = m.ckpt_;
  m.embed_ = ck.find("model.embed_tokens.weight");
  if (!m.embed_) throw Error("missing tensor 'model.embed_tokens.weight'");
  if (!io::is_float_wide(m.embed_->info->dtype) || m.embed_->info->shape != std::vector<int64_t>{c.vocab, c.hidden})
    throw Error("tensor 'model.embed_tokens.weight' must be a float [vocab_size, hidden_size] matrix");
  const int64_t q_dim = c.heads * c.head_dim, kv_dim = c.kv_heads * c.head_dim;
  auto linear = [&](const std::string& module, int64_t out, int64_t in) {
    if (shapes_only) {
      check_shape(Linear::shape_of(ck, m.layout_, module), module, out, in);
      return Linear();
    }
    Linear l = Linear::load(ck, m.layout_, module);
    check_shape({l.out(), l.in()}, module, out, in);
    return l;
  };
  auto norm = [&](const std::string& name, int64_t size) { return norm_weight(load_vector(ck, name, size), c); };
  for (int64_t i = 0; i < c.layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    Layer L;
    L.input_norm = norm(p + "input_layernorm.weight", c.hidden);
    L.post_attention_norm = norm(p + "post_attention_layernorm.weight", c.hidden);
    if (c.gemma_norms) {
      L.pre_feedforward_norm = norm(p + "pre_feedforward_layernorm.weight", c.hidden);
      L.post_feedforward_norm = norm(p + "post_feedforward_layernorm.weight", c.hidden);
    }
    if (c.fused_projections) {
      L.qkv = linear(p + "self_attn.qkv_proj", q_dim + 2 * kv_dim, c.hidden);
    } else {
      L.q = linear(p + "self_attn.q_proj", q_dim, c.hidden);
      L.k = linear(p + "self_attn.k_proj", kv_dim, c.hidden);
      L.v = linear(p + "self_attn.v_proj", kv_dim, c.hidden);
    }
    L.o = linear(p + "self_attn.o_proj", c.hidden, q_dim);
    if (c.qk_norm) {
      L.q_norm = norm(p + "self_attn.q_norm.weight", c.head_dim);
      L.k_norm = norm(p + "self_attn.k_norm.weight", c.head_dim);
    }
    if (c.attention_sinks) L.sinks = load_vector(ck, p + "self_attn.sinks", c.heads);
    const std::string moe = p + (c.arch == Arch::mixtral ? "block_sparse_moe." : "mlp.");
    const std::string router = moe + (c.arch == Arch::gpt_oss ? "router" : "gate");
    if (c.experts && ck.find(router + ".weight")) {
      L.router = linear(router, c.experts, c.hidden);
      const bool mixtral = c.arch == Arch::mixtral;
      for (int64_t e = 0; e < c.experts; ++e) {
        const std::string E = moe + "experts." + std::to_string(e) + ".";
        const int64_t I = c.expert_intermediate;
        L.experts.push_back({linear(E + (mixtral ? "w1" : "gate_proj"), I, c.hidden),
                             linear(E + (mixtral ? "w3" : "up_proj"), I, c.hidden),
                             linear(E + (mixtral ? "w2" : "down_proj"), c.hidden, I)});
      }
    } else if (c.experts && c.arch == Arch::gpt_oss) {
      throw Error("missing tensor '" + router + ".weight'");
    } else if (c.fused_projections) {
      L.gate_up = linear(p + "mlp.gate_up_proj", 2 * c.intermediate, c.hidden);
      L.down = linear(p + "mlp.down_proj", c.hidden, c.intermediate);
    } else {
      L.gate = linear(p + "mlp.gate_proj", c.intermediate, c.hidden);
      L.up = linear(p + "mlp.up_proj", c.intermediate, c.hidden);
      L.down = linear(p + "mlp.down_proj", c.hidden, c.intermediate);
    }
    KvLayerScales s;
    if (ck.find(p + "self_attn.k_scale")) s.k = io::dequantize_tensor(ck, p + "self_attn.k_scale").at(0);
    if (ck.find(p + "self_attn.v_scale")) s.v = io::dequantize_tensor(ck, p + "self_attn.v_scale").at(0);
    m.kv_scales_.push_back(s);
    m.layers_.push_back(std::move(L));
  }
  m.final_norm_ = norm("model.norm.weight", c.hidden);
  if (ck.find("lm_head.weight")) m.lm_head_ = linear("lm_head", c.vocab, c.hidden);
  else if (c.tie_embeddings) m.lm_head_ = linear("model.embed_tokens", c.vocab, c.hidden);
  else throw Error("missing tensor 'lm_head.weight' (and tie_word_embeddings is false)");
  m.rope_ = rope_table(c.rope, c.head_dim);
  if (c.local_rope) m.local_rope_ = rope_table(*c.local_rope, c.head_dim);
  return m;
}

KvCache Model::new_cache(KvDType dtype, int64_t max_positions) const {
  return KvCache(dtype, config_.layers, config_.kv_heads, config_.head_dim, max_positions, kv_scales_);
}

const uint8_t* Model::embedding_bytes() const { return ckpt_.bytes(*embed_).data(); }
kernel::DType Model::embedding_dtype() const { return io::kernel_dtype(embed_->info->dtype); }

void Model::run(const Linear& l, const float* x, size_t tokens, float* y) const {
  if (hooks_.observer) hooks_.observer(l.name(), x, tokens, size_t(l.in()));
  l.forward(x, tokens, y, options_.act_quant, options_.threads);
  if (hooks_.trace) hooks_.trace(l.name(), y, tokens, size_t(l.out()));
}

void Model::rms_norm(const float* x, const std::vector<float>& w, size_t rows, size_t n, float* out) const {
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* o = out + r * n;
    const float ss = kernel::dot(xr, xr, n);
    const float inv = 1.0f / std::sqrt(ss / float(n) + float(config_.rms_eps));
    for (size_t i = 0; i < n; ++i) o[i] = w[i] * (xr[i] * inv);
  }
}

// HF's rotate_half convention: element i pairs with i + head_dim / 2; cos and sin times the table's
// attention factor (YaRN, LongRoPE), as transformers scales them.
void Model::rope(float* x, int64_t heads, int64_t pos, const RopeTable& table, bool long_context) const {
  const auto half = size_t(config_.head_dim / 2);
  const std::vector<float>& inv_freq = long_context ? table.long_inv_freq : table.inv_freq;
  for (size_t i = 0; i < half; ++i) {
    const float angle = float(pos) * inv_freq[i];
    const float c = float(std::cos(double(angle))) * table.scale, s = float(std::sin(double(angle))) * table.scale;
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + size_t(h * config_.head_dim);
      const float a = v[i], b = v[i + half];
      v[i] = a * c - b * s;
      v[i + half] = b * c + a * s;
    }
  }
}

void Model::attention(const Layer& L, int64_t li, const float* x, size_t tokens, int64_t start, KvCache& cache,
                      float* out) const {
  const ModelConfig& c = config_;
  const auto hd = size_t(c.head_dim), q_dim = size_t(c.heads) * hd, kv_dim = size_t(c.kv_heads) * hd;
  std::vector<float> q(tokens * q_dim), k(tokens * kv_dim), v(tokens * kv_dim);
  if (c.fused_projections) {
    std::vector<float> qkv(tokens * (q_dim + 2 * kv_dim));
    run(L.qkv, x, tokens, qkv.data());
    for (size_t t = 0; t < tokens; ++t) {
      const float* row = &qkv[t * (q_dim + 2 * kv_dim)];
      std::copy(row, row + q_dim, &q[t * q_dim]);
      std::copy(row + q_dim, row + q_dim + kv_dim, &k[t * kv_dim]);
      std::copy(row + q_dim + kv_dim, row + q_dim + 2 * kv_dim, &v[t * kv_dim]);
    }
  } else {
    run(L.q, x, tokens, q.data());
    run(L.k, x, tokens, k.data());
    run(L.v, x, tokens, v.data());
  }
  const bool local = sliding(li);
  const RopeTable& table = local && config_.local_rope ? local_rope_ : rope_;
  // LongRoPE switches tables by the context this call reaches, as transformers does per forward.
  const bool long_context = !table.long_inv_freq.empty() && start + int64_t(tokens) > table.long_after;
  for (size_t t = 0; t < tokens; ++t) {
    if (c.qk_norm) {
      rms_norm(&q[t * q_dim], L.q_norm, size_t(c.heads), hd, &q[t * q_dim]);
      rms_norm(&k[t * kv_dim], L.k_norm, size_t(c.kv_heads), hd, &k[t * kv_dim]);
    }
    rope(&q[t * q_dim], c.heads, start + int64_t(t), table, long_context);
    rope(&k[t * kv_dim], c.kv_heads, start + int64_t(t), table, long_context);
    cache.write(li, start + int64_t(t), &k[t * kv_dim], &v[t * kv_dim]);
  }
  if (hooks_.observer) {
    const std::string p = "model.layers." + std::to_string(li) + ".self_attn.";
    hooks_.observer(p + "k_cache", k.data(), tokens, kv_dim);
    hooks_.observer(p + "v_cache", v.data(), tokens, kv_dim);
  }
  const int64_t end = start + int64_t(tokens);
  std::vector<float> k_scratch, v_scratch;
  const float* K = cache.keys(li, end, k_scratch);
  const float* V = cache.values(li, end, v_scratch);
  const auto scale = float(c.attention_scale);
  const int64_t group = c.heads / c.kv_heads;
  std::vector<float> ctx(tokens * q_dim);
  kernel::parallel_for(tokens * size_t(c.heads), options_.threads, [&](size_t begin, size_t finish) {
    std::vector<float> scores(static_cast<size_t>(end));
    for (size_t job = begin; job < finish; ++job) {
      const size_t t = job / size_t(c.heads), h = job % size_t(c.heads), kvh = h / size_t(group);
      const int64_t pos = start + int64_t(t);
      const int64_t first = local ? std::max<int64_t>(0, pos - *c.sliding_window + 1) : 0;
      const float* qh = &q[t * q_dim + h * hd];
      // GPT-OSS's sink: one more logit in the softmax, with no value.
      const float sink = L.sinks.empty() ? -INFINITY : L.sinks[h];
      float maxv = sink;
      for (int64_t j = first; j <= pos; ++j) {
        float score = kernel::dot(qh, K + size_t(j) * kv_dim + kvh * hd, hd) * scale;
        if (c.attention_softcap) score = softcap(score, *c.attention_softcap);
        scores[size_t(j)] = score;
        maxv = std::max(maxv, score);
      }
      float sum = L.sinks.empty() ? 0.0f : std::exp(sink - maxv);
      for (int64_t j = first; j <= pos; ++j) sum += scores[size_t(j)] = std::exp(scores[size_t(j)] - maxv);
      float* o = &ctx[t * q_dim + h * hd];
      std::fill(o, o + hd, 0.0f);
      for (int64_t j = first; j <= pos; ++j) {
        const float w = scores[size_t(j)] / sum;
        const float* vj = V + size_t(j) * kv_dim + kvh * hd;
        for (size_t d = 0; d < hd; ++d) o[d] += w * vj[d];
      }
    }
  }, std::max<size_t>(1, 4096 / std::max<int64_t>(1, end)));
  run(L.o, ctx.data(), tokens, out);
}

void Model::mlp(const Layer& L, const float* x, size_t tokens, float* out) const {
  const auto I = size_t(L.down.in());
  std::vector<float> g(tokens * I), u(tokens * I);
  if (config_.fused_projections) {  // Phi-3: gate is the first half of gate_up, up the second
    std::vector<float> gu(tokens * 2 * I);
    run(L.gate_up, x, tokens, gu.data());
    for (size_t t = 0; t < tokens; ++t) {
      std::copy(&gu[t * 2 * I], &gu[t * 2 * I] + I, &g[t * I]);
      std::copy(&gu[t * 2 * I] + I, &gu[t * 2 * I] + 2 * I, &u[t * I]);
    }
  } else {
    run(L.gate, x, tokens, g.data());
    run(L.up, x, tokens, u.data());
  }
  if (config_.activation == Activation::gelu_tanh)
    for (size_t i = 0; i < g.size(); ++i) g[i] = gelu_tanh(g[i]) * u[i];
  else
    for (size_t i = 0; i < g.size(); ++i) g[i] = silu(g[i]) * u[i];
  run(L.down, g.data(), tokens, out);
}

// Softmax over the router logits and the top k experts (renormalized when the config says so) or,
// GPT-OSS, the top k logits and a softmax over them; the weighted sum of their MLP outputs; token by
// token.
void Model::experts(const Layer& L, const float* x, size_t tokens, float* out) const {
  const ModelConfig& c = config_;
  const auto n = size_t(c.hidden), E = size_t(c.experts), K = size_t(c.experts_per_token);
  std::vector<float> logits(tokens * E), y(n);
  L.router.forward(x, tokens, logits.data(), ActQuant::none, options_.threads);
  std::vector<size_t> order(E);
  auto softmax = [](float* p, const size_t* index, size_t count) {
    float maxv = -INFINITY, sum = 0;
    for (size_t e = 0; e < count; ++e) maxv = std::max(maxv, p[index ? index[e] : e]);
    for (size_t e = 0; e < count; ++e) sum += p[index ? index[e] : e] = std::exp(p[index ? index[e] : e] - maxv);
    for (size_t e = 0; e < count; ++e) p[index ? index[e] : e] /= sum;
  };
  for (size_t t = 0; t < tokens; ++t) {
    float* p = &logits[t * E];
    if (!c.softmax_after_top_k) softmax(p, nullptr, E);
    for (size_t e = 0; e < E; ++e) order[e] = e;
    std::partial_sort(order.begin(), order.begin() + long(K), order.end(),
                      [&](size_t a, size_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
    if (c.softmax_after_top_k) softmax(p, order.data(), K);
    float chosen = 0;
    for (size_t k = 0; k < K; ++k) chosen += p[order[k]];
    float* o = out + t * n;
    std::fill(o, o + n, 0.0f);
    for (size_t k = 0; k < K; ++k) {
      const Expert& ex = L.experts[order[k]];
      const float w = c.normalize_top_k && !c.softmax_after_top_k ? p[order[k]] / chosen : p[order[k]];
      const auto I = size_t(ex.gate.out());
      std::vector<float> g(I), u(I);
      run(ex.gate, x + t * n, 1, g.data());
      run(ex.up, x + t * n, 1, u.data());
      if (c.swiglu_limit > 0) {  // GPT-OSS: clamped gate and up, sigmoid(1.702 g), up shifted by one
        const auto limit = float(c.swiglu_limit);
        for (size_t i = 0; i < I; ++i) {
          const float gi = std::min(g[i], limit), ui = std::clamp(u[i], -limit, limit);
          g[i] = (ui + 1.0f) * (gi / (1.0f + std::exp(-1.702f * gi)));
        }
      } else {
        for (size_t i = 0; i < I; ++i) g[i] = silu(g[i]) * u[i];
      }
      run(ex.down, g.data(), 1, y.data());
      for (size_t i = 0; i < n; ++i) o[i] += w * y[i];
    }
  }
}

std::vector<float> Model::forward(std::span<const int32_t> tokens, KvCache& cache, bool all_positions) const {
  const ModelConfig& c = config_;
  const size_t T = tokens.size(), n = size_t(c.hidden);
  if (T == 0) throw Error("forward: no tokens");
  const int64_t start = cache.size();
  if (start + int64_t(T) > cache.capacity())
    throw Error("context of " + std::to_string(start + int64_t(T)) + " tokens exceeds the KV cache's " +
                std::to_string(cache.capacity()));
  std::vector<float> h(T * n), normed(T * n), delta(T * n);
  const kernel::DType ed = io::kernel_dtype(embed_->info->dtype);
  for (size_t t = 0; t < T; ++t) {
    if (tokens[t] < 0 || tokens[t] >= c.vocab)
      throw Error("token id " + std::to_string(tokens[t]) + " is outside the vocabulary (0.." + std::to_string(c.vocab - 1) + ")");
    kernel::widen(ckpt_.bytes(*embed_).data() + size_t(tokens[t]) * n * kernel::dtype_size(ed), ed, &h[t * n], n, 1);
  }
  if (c.embedding_scale != 1.0)  // Gemma: times sqrt(hidden), rounded to the hidden dtype first
    for (float& v : h) v *= float(c.embedding_scale);
  require_finite(h, "the embedding rows of these tokens (model.embed_tokens.weight)");
  for (size_t li = 0; li < layers_.size(); ++li) {
    const Layer& L = layers_[li];
    rms_norm(h.data(), L.input_norm, T, n, normed.data());
    attention(L, int64_t(li), normed.data(), T, start, cache, delta.data());
    // Gemma normalizes each block's output too, and has its own norm before the MLP.
    if (c.gemma_norms) rms_norm(delta.data(), L.post_attention_norm, T, n, delta.data());
    for (size_t i = 0; i < h.size(); ++i) h[i] += delta[i];
    rms_norm(h.data(), c.gemma_norms ? L.pre_feedforward_norm : L.post_attention_norm, T, n, normed.data());
    if (L.experts.empty()) mlp(L, normed.data(), T, delta.data());
    else experts(L, normed.data(), T, delta.data());
    if (c.gemma_norms) rms_norm(delta.data(), L.post_feedforward_norm, T, n, delta.data());
    for (size_t i = 0; i < h.size(); ++i) h[i] += delta[i];
    require_finite(h, "decoder layer " + std::to_string(li) + " (model.layers." + std::to_string(li) + ")");
    if (hooks_.trace) hooks_.trace("model.layers." + std::to_string(li), h.data(), T, n);
  }
  cache.commit(start + int64_t(T));
  const size_t first = all_positions ? 0 : T - 1, rows = T - first;
  rms_norm(h.data() + first * n, final_norm_, rows, n, normed.data());
  std::vector<float> logits(rows * size_t(c.vocab));
  run(lm_head_, normed.data(), rows, logits.data());
  if (c.final_softcap)
    for (float& v : logits) v = softcap(v, *c.final_softcap);
  require_finite(logits, "the final norm and lm_head (model.norm, lm_head)");
  return logits;
}

}  // namespace hifp8::model
