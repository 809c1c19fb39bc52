#pragma once
// A decoder-only transformer on the CPU: embeddings, N x (RMSNorm, attention with RoPE and
// grouped-query heads, RMSNorm, MLP or routed experts), final norm, LM head, with the variations of
// the architectures config.h lists (Gemma's norms around each block, soft-capping, sinks, sliding
// windows per layer, fused projections). Loads F32/BF16/F16 checkpoints, GPT-OSS's MXFP4 experts and
// every layout `hifp8 quantize` writes; 8-bit weights stay 8-bit (see linear.h).
#include <filesystem>
#include <functional>
#include <string>
#include <span>
#include <utility>
#include <vector>

#include "hifp8/io/checkpoint.h"
#include "hifp8/model/config.h"
#include "hifp8/model/kv_cache.h"
#include "hifp8/model/linear.h"

namespace hifp8::model {

// Sees the input of every linear layer (by module name, before any activation quantization) and the
// keys / values written to the cache ("model.layers.N.self_attn.k_cache" / "v_cache"), as rows x n
// float32 values: what calibration observes.
using ActivationObserver = std::function<void(const std::string& name, const float* x, size_t rows, size_t n)>;

struct ModelOptions {
  ActQuant act_quant = ActQuant::none;
  int threads = 0;  // 0: all cores
};

// What forward passes show to the outside: `observer` sees every linear's input and the keys/values
// (calibration); `trace` every linear's output (by module name) and the hidden state after each decoder
// layer ("model.layers.N"), what `eval layers` compares between two models.
struct ForwardHooks {
  ActivationObserver observer, trace;
};

class Model {
 public:
  // Throws Error for an unsupported architecture, a missing tensor (named) or a bad shape.
  static Model load(const std::filesystem::path& dir, const ModelOptions& options = {});
  // The same checks without reading the weights (config values, every expected tensor's presence,
  // dtype and shape): what `quantize` runs before it writes anything.
  static void validate(const std::filesystem::path& dir);

  const ModelConfig& config() const { return config_; }
  const io::QuantizationLayout& quantization() const { return layout_; }

  KvCache new_cache(KvDType dtype, int64_t max_positions) const;

  // The hooks of later forward passes (none at load). Hooks observe and change no result, so an engine
  // holding the model const may set them; not while a pass runs.
  void set_hooks(ForwardHooks hooks) const { hooks_ = std::move(hooks); }

  // The loaded weights, read by other backends (the GPU engine uploads them).
  struct Expert {
    Linear gate, up, down;
  };
  struct Layer {
    // Norm weights as applied: Gemma's (1 + w) already added.
    std::vector<float> input_norm, post_attention_norm, q_norm, k_norm;
    std::vector<float> pre_feedforward_norm, post_feedforward_norm;  // Gemma
    Linear q, k, v, o;
    Linear qkv;                  // Phi-3: q, k and v in one projection
    std::vector<float> sinks;    // GPT-OSS: one logit per head
    Linear gate, up, down;       // dense MLP
    Linear gate_up;              // Phi-3: gate then up in one projection
    Linear router;               // MoE
    std::vector<Expert> experts;  // MoE
  };
  // One RoPE: inverse frequencies (LongRoPE: for short and long contexts) and the cos/sin factor.
  struct RopeTable {
    std::vector<float> inv_freq, long_inv_freq;
    float scale = 1.0f;
    int64_t long_after = 0;  // LongRoPE: long_inv_freq once the context passes this many positions
  };
  const std::vector<Layer>& layers() const { return layers_; }
  const std::vector<float>& final_norm() const { return final_norm_; }
  const Linear& lm_head() const { return lm_head_; }
  const std::vector<float>& rope_frequencies() const { return rope_.inv_freq; }
  const std::vector<KvLayerScales>& kv_scales() const { return kv_scales_; }
  // The embedding matrix [vocab, hidden] as stored (F32/BF16/F16).
  const uint8_t* embedding_bytes() const;
  kernel::DType embedding_dtype() const;

  // Runs `tokens` at positions cache.size(), cache.size() + 1, ... and appends their keys/values.
  // Returns logits [tokens.size()][vocab] when all_positions, else the last position's [vocab].
  std::vector<float> forward(std::span<const int32_t> tokens, KvCache& cache, bool all_positions = false) const;

 private:
  Model() = default;
  static Model load(const std::filesystem::path& dir, const ModelOptions& options, bool shapes_only);
  void attention(const Layer& layer, int64_t li, const float* x, size_t tokens, int64_t start, KvCache& cache,
                 float* out) const;
  void mlp(const Layer& layer, const float* x, size_t tokens, float* out) const;
  void experts(const Layer& layer, const float* x, size_t tokens, float* out) const;
  void run(const Linear& l, const float* x, size_t tokens, float* y) const;  // observer, then forward
  void rms_norm(const float* x, const std::vector<float>& w, size_t rows, size_t n, float* out) const;
  void rope(float* x, int64_t heads, int64_t pos, const RopeTable& table, bool long_context) const;
  bool sliding(int64_t layer) const { return config_.sliding_window && config_.sliding_layers[size_t(layer)]; }

  io::Checkpoint ckpt_;
  ModelConfig config_;
  io::QuantizationLayout layout_;
  ModelOptions options_;
  mutable ForwardHooks hooks_;
  const io::Checkpoint::Entry* embed_ = nullptr;
  std::vector<Layer> layers_;
  std::vector<float> final_norm_;
  Linear lm_head_;
  RopeTable rope_, local_rope_;  // local: Gemma 3's sliding layers
  std::vector<KvLayerScales> kv_scales_;
};

}  // namespace hifp8::model
