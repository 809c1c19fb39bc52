// The GPU engine behind model::open_engine (engine.h), installed by install_cuda_engine().
#include "hifp8/model/gpu_model.h"

namespace hifp8::model {
namespace {

// The GPU engine's slots are batched: a decode step runs every slot given in one launch.
class GpuEngine : public Engine {
 public:
  GpuEngine(const Model& m, const EngineOptions& o)
      : gpu_(GpuModel::load(m, {parse_kv_dtype(o.kv_cache_dtype), o.slots, o.max_context, o.act_quant})), context_(o.max_context) {}
  const ModelConfig& config() const override { return gpu_.config(); }
  int slots() const override { return gpu_.max_batch(); }
  int64_t context() const override { return context_; }
  std::vector<float> prefill(int slot, std::span<const int32_t> tokens, bool all_positions) override {
    gpu_.reset(slot);
    return gpu_.prefill(slot, tokens, all_positions);
  }
  std::vector<float> decode(std::span<const int> slots, std::span<const int32_t> tokens) override {
    return gpu_.decode(slots, tokens);
  }
  std::vector<int32_t> decode_sample(std::span<const int> slots, std::span<const int32_t> tokens,
                                     std::span<const SamplingOptions> sampling) override {
    return gpu_.decode_sample(slots, tokens, sampling);
  }
  std::vector<TokenScore> score(int slot, std::span<const int32_t> tokens, size_t first,
                                std::span<const float> reference = {}) override {
    gpu_.reset(slot);
    return gpu_.score(slot, tokens, first, reference);
  }
  std::pair<std::vector<TokenScore>, std::vector<TokenScore>> score_against(Engine& reference, int slot,
                                                                            std::span<const int32_t> tokens,
                                                                            size_t first) override {
    auto* other = dynamic_cast<GpuEngine*>(&reference);
    if (!other || other == this) return Engine::score_against(reference, slot, tokens, first);
    gpu_.reset(slot);
    other->gpu_.reset(0);
    return gpu_.score_against(other->gpu_, slot, 0, tokens, first);
  }
  void collect(StatsCollector* into) override { gpu_.collect(into); }
  void trace(ActivationObserver trace) override { gpu_.trace(std::move(trace)); }

 private:
  GpuModel gpu_;
  int64_t context_;
};

}  // namespace

void install_cuda_engine() {
  install_gpu_engine([](const Model& m, const EngineOptions& o) -> std::unique_ptr<Engine> {
    return std::make_unique<GpuEngine>(m, o);
  });
}

}  // namespace hifp8::model
