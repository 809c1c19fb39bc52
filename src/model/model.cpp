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

// HF's inverse frequencies in float32, with the llama3 long-context adjustment.
std::vector<float> rope_inv_freq(const ModelConfig& c) {
  const int64_t half = c.head_dim / 2;
  std::vector<float> inv(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    const float exponent = float(2 * i) / float(c.head_dim);
    float f = 1.0f / std::pow(float(c.rope.theta), exponent);
    if (c.rope.llama3) {
      const RopeConfig& r = c.rope;
      const double low_wavelen = r.original_max_positions / r.low_freq_factor;
      const double high_wavelen = r.original_max_positions / r.high_freq_factor;
      const double wavelen = 2 * std::numbers::pi / f;
      if (wavelen > low_wavelen) {
        f = float(f / r.factor);
      } else if (wavelen >= high_wavelen) {
        const double smooth = (r.original_max_positions / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
        f = float((1 - smooth) * f / r.factor + smooth * f);
      }
    }
    inv[size_t(i)] = f;
  }
  return inv;
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }

}  // namespace

void Model::validate(const std::filesystem::path& dir) { load(dir, {}, true); }

Model Model::load(const std::filesystem::path& dir, const ModelOptions& options) { return load(dir, options, false); }

Model Model::load(const std::filesystem::path& dir, const ModelOptions& options, bool shapes_only) {
  Model m;
  m.ckpt_ = io::Checkpoint::open(dir);
  m.config_ = ModelConfig::from_json(m.ckpt_.config());
  m.layout_ = io::read_quantization_layout(m.ckpt_.config());
  m.options_ = options;
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
  for (int64_t i = 0; i < c.layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    Layer L;
    L.input_norm = load_vector(ck, p + "input_layernorm.weight", c.hidden);
    L.post_attention_norm = load_vector(ck, p + "post_attention_layernorm.weight", c.hidden);
    L.q = linear(p + "self_attn.q_proj", q_dim, c.hidden);
    L.k = linear(p + "self_attn.k_proj", kv_dim, c.hidden);
    L.v = linear(p + "self_attn.v_proj", kv_dim, c.hidden);
    L.o = linear(p + "self_attn.o_proj", c.hidden, q_dim);
    if (c.qk_norm) {
      L.q_norm = load_vector(ck, p + "self_attn.q_norm.weight", c.head_dim);
      L.k_norm = load_vector(ck, p + "self_attn.k_norm.weight", c.head_dim);
    }
    const std::string moe = p + (c.arch == Arch::mixtral ? "block_sparse_moe." : "mlp.");
    if (c.experts && ck.find(moe + "gate.weight")) {
      L.router = linear(moe + "gate", c.experts, c.hidden);
      const bool mixtral = c.arch == Arch::mixtral;
      for (int64_t e = 0; e < c.experts; ++e) {
        const std::string E = moe + "experts." + std::to_string(e) + ".";
        const int64_t I = c.expert_intermediate;
        L.experts.push_back({linear(E + (mixtral ? "w1" : "gate_proj"), I, c.hidden),
                             linear(E + (mixtral ? "w3" : "up_proj"), I, c.hidden),
                             linear(E + (mixtral ? "w2" : "down_proj"), c.hidden, I)});
      }
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
  m.final_norm_ = load_vector(ck, "model.norm.weight", c.hidden);
  if (ck.find("lm_head.weight")) m.lm_head_ = linear("lm_head", c.vocab, c.hidden);
  else if (c.tie_embeddings) m.lm_head_ = linear("model.embed_tokens", c.vocab, c.hidden);
  else throw Error("missing tensor 'lm_head.weight' (and tie_word_embeddings is false)");
  m.inv_freq_ = rope_inv_freq(c);
  return m;
}

KvCache Model::new_cache(KvDType dtype, int64_t max_positions) const {
  return KvCache(dtype, config_.layers, config_.kv_heads, config_.head_dim, max_positions, kv_scales_);
}

const uint8_t* Model::embedding_bytes() const { return ckpt_.bytes(*embed_).data(); }
kernel::DType Model::embedding_dtype() const { return io::kernel_dtype(embed_->info->dtype); }

void Model::run(const Linear& l, const float* x, size_t tokens, float* y) const {
  if (options_.observer) options_.observer(l.name(), x, tokens, size_t(l.in()));
  l.forward(x, tokens, y, options_.act_quant, options_.threads);
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

// HF's rotate_half convention: element i pairs with i + head_dim / 2.
void Model::rope(float* x, int64_t heads, int64_t pos) const {
  const auto half = size_t(config_.head_dim / 2);
  for (size_t i = 0; i < half; ++i) {
    const float angle = float(pos) * inv_freq_[i];
    const auto c = float(std::cos(double(angle))), s = float(std::sin(double(angle)));
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
  run(L.q, x, tokens, q.data());
  run(L.k, x, tokens, k.data());
  run(L.v, x, tokens, v.data());
  for (size_t t = 0; t < tokens; ++t) {
    if (c.qk_norm) {
      rms_norm(&q[t * q_dim], L.q_norm, size_t(c.heads), hd, &q[t * q_dim]);
      rms_norm(&k[t * kv_dim], L.k_norm, size_t(c.kv_heads), hd, &k[t * kv_dim]);
    }
    rope(&q[t * q_dim], c.heads, start + int64_t(t));
    rope(&k[t * kv_dim], c.kv_heads, start + int64_t(t));
    cache.write(li, start + int64_t(t), &k[t * kv_dim], &v[t * kv_dim]);
  }
  if (options_.observer) {
    const std::string p = "model.layers." + std::to_string(li) + ".self_attn.";
    options_.observer(p + "k_cache", k.data(), tokens, kv_dim);
    options_.observer(p + "v_cache", v.data(), tokens, kv_dim);
  }
  const int64_t end = start + int64_t(tokens);
  std::vector<float> k_scratch, v_scratch;
  const float* K = cache.keys(li, end, k_scratch);
  const float* V = cache.values(li, end, v_scratch);
  const float inv_sqrt = 1.0f / std::sqrt(float(hd));
  const int64_t group = c.heads / c.kv_heads;
  std::vector<float> ctx(tokens * q_dim);
  kernel::parallel_for(tokens * size_t(c.heads), options_.threads, [&](size_t begin, size_t finish) {
    std::vector<float> scores(static_cast<size_t>(end));
    for (size_t job = begin; job < finish; ++job) {
      const size_t t = job / size_t(c.heads), h = job % size_t(c.heads), kvh = h / size_t(group);
      const int64_t pos = start + int64_t(t);
      const int64_t first = c.sliding_window ? std::max<int64_t>(0, pos - *c.sliding_window + 1) : 0;
      const float* qh = &q[t * q_dim + h * hd];
      float maxv = -INFINITY;
      for (int64_t j = first; j <= pos; ++j) {
        scores[size_t(j)] = kernel::dot(qh, K + size_t(j) * kv_dim + kvh * hd, hd) * inv_sqrt;
        maxv = std::max(maxv, scores[size_t(j)]);
      }
      float sum = 0;
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
  const auto I = size_t(L.gate.out());
  std::vector<float> g(tokens * I), u(tokens * I);
  run(L.gate, x, tokens, g.data());
  run(L.up, x, tokens, u.data());
  for (size_t i = 0; i < g.size(); ++i) g[i] = silu(g[i]) * u[i];
  run(L.down, g.data(), tokens, out);
}

// Softmax over the router logits, the top k experts (renormalized when the config says so), and the
// weighted sum of their MLP outputs; token by token.
void Model::experts(const Layer& L, const float* x, size_t tokens, float* out) const {
  const ModelConfig& c = config_;
  const auto n = size_t(c.hidden), E = size_t(c.experts), K = size_t(c.experts_per_token);
  std::vector<float> logits(tokens * E), y(n);
  L.router.forward(x, tokens, logits.data(), ActQuant::none, options_.threads);
  std::vector<size_t> order(E);
  for (size_t t = 0; t < tokens; ++t) {
    float* p = &logits[t * E];
    const float maxv = *std::max_element(p, p + E);
    float sum = 0;
    for (size_t e = 0; e < E; ++e) sum += p[e] = std::exp(p[e] - maxv);
    for (size_t e = 0; e < E; ++e) p[e] /= sum;
    for (size_t e = 0; e < E; ++e) order[e] = e;
    std::partial_sort(order.begin(), order.begin() + long(K), order.end(),
                      [&](size_t a, size_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
    float chosen = 0;
    for (size_t k = 0; k < K; ++k) chosen += p[order[k]];
    float* o = out + t * n;
    std::fill(o, o + n, 0.0f);
    for (size_t k = 0; k < K; ++k) {
      const Expert& ex = L.experts[order[k]];
      const float w = c.normalize_top_k ? p[order[k]] / chosen : p[order[k]];
      const auto I = size_t(ex.gate.out());
      std::vector<float> g(I), u(I);
      run(ex.gate, x + t * n, 1, g.data());
      run(ex.up, x + t * n, 1, u.data());
      for (size_t i = 0; i < I; ++i) g[i] = silu(g[i]) * u[i];
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
  require_finite(h, "the embedding rows of these tokens (model.embed_tokens.weight)");
  for (size_t li = 0; li < layers_.size(); ++li) {
    const Layer& L = layers_[li];
    rms_norm(h.data(), L.input_norm, T, n, normed.data());
    attention(L, int64_t(li), normed.data(), T, start, cache, delta.data());
    for (size_t i = 0; i < h.size(); ++i) h[i] += delta[i];
    rms_norm(h.data(), L.post_attention_norm, T, n, normed.data());
    if (L.experts.empty()) mlp(L, normed.data(), T, delta.data());
    else experts(L, normed.data(), T, delta.data());
    for (size_t i = 0; i < h.size(); ++i) h[i] += delta[i];
    require_finite(h, "decoder layer " + std::to_string(li) + " (model.layers." + std::to_string(li) + ")");
  }
  cache.commit(start + int64_t(T));
  const size_t first = all_positions ? 0 : T - 1, rows = T - first;
  rms_norm(h.data() + first * n, final_norm_, rows, n, normed.data());
  std::vector<float> logits(rows * size_t(c.vocab));
  run(lm_head_, normed.data(), rows, logits.data());
  require_finite(logits, "the final norm and lm_head (model.norm, lm_head)");
  return logits;
}

}  // namespace hifp8::model
