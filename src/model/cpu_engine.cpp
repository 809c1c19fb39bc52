#include "hifp8/error.h"
#include "hifp8/model/engine.h"

namespace hifp8::model {
namespace {

class CpuEngine : public Engine {
 public:
  CpuEngine(const Model& m, KvDType kv, int slots, int64_t context) : model_(m) {
    if (slots < 1) throw Error("the engine needs at least one sequence slot");
    for (int s = 0; s < slots; ++s) caches_.push_back(m.new_cache(kv, context));
  }
  const ModelConfig& config() const override { return model_.config(); }
  int slots() const override { return int(caches_.size()); }
  int64_t context() const override { return caches_.front().capacity(); }
  std::vector<float> prefill(int slot, std::span<const int32_t> tokens, bool all_positions) override {
    KvCache& c = caches_.at(size_t(slot));
    c = model_.new_cache(c.dtype(), c.capacity());
    return model_.forward(tokens, c, all_positions);
  }
  std::vector<float> decode(std::span<const int> slots, std::span<const int32_t> tokens) override {
    std::vector<float> out;
    for (size_t i = 0; i < slots.size(); ++i) {
      const std::vector<float> logits = model_.forward(tokens.subspan(i, 1), caches_.at(size_t(slots[i])));
      out.insert(out.end(), logits.begin(), logits.end());
    }
    return out;
  }
  void collect(StatsCollector* into) override {
    hooks_.observer = into ? ActivationObserver([into](const std::string& name, const float* x, size_t rows, size_t n) {
      into->add(name, x, rows, n);
    }) : nullptr;
    model_.set_hooks(hooks_);
  }
  void trace(ActivationObserver trace) override {
    hooks_.trace = std::move(trace);
    model_.set_hooks(hooks_);
  }

 private:
  ForwardHooks hooks_;
  const Model& model_;
  std::vector<KvCache> caches_;
};

}  // namespace

std::unique_ptr<Engine> cpu_engine(const Model& model, KvDType kv, int slots, int64_t context) {
  return std::make_unique<CpuEngine>(model, kv, slots, context);
}

}  // namespace hifp8::model
