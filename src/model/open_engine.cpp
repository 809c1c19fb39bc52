// Compiled into libhifp8_cuda when CUDA is built (HIFP8_HAVE_CUDA), into libhifp8 otherwise: the one
// place that knows which engines this build has.
#include "hifp8/error.h"
#include "hifp8/model/engine.h"
#ifdef HIFP8_HAVE_CUDA
#include "hifp8/model/gpu_model.h"
#endif

namespace hifp8::model {
namespace {

#ifdef HIFP8_HAVE_CUDA
// The GPU engine's slots are batched: a decode step runs every slot given in one launch.
class GpuEngine : public Engine {
 public:
  GpuEngine(const Model& m, KvDType kv, int slots, int64_t context)
      : gpu_(GpuModel::load(m, {kv, slots, context})), context_(context) {}
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

 private:
  GpuModel gpu_;
  int64_t context_;
};
#endif

}  // namespace

std::unique_ptr<Engine> open_engine(const Model& model, const EngineOptions& o) {
  if (o.device != "cpu" && o.device != "cuda") throw Error("--device: '" + o.device + "' (expected cpu or cuda)");
  const int64_t context = o.max_context > 0 ? o.max_context : model.config().max_positions;
  const KvDType kv = parse_kv_dtype(!o.kv_cache_dtype.empty() ? o.kv_cache_dtype : o.device == "cuda" ? "bf16" : "f32");
  if (o.device == "cpu") return cpu_engine(model, kv, o.slots, context);
#ifdef HIFP8_HAVE_CUDA
  if (o.act_quant != ActQuant::none) throw Error("--act-quant: the GPU engine runs W8A16 (activations stay bf16)");
  return std::make_unique<GpuEngine>(model, kv, o.slots, context);
#else
  throw Error("--device cuda: this hifp8 was built without CUDA (HIFP8_CUDA=OFF)");
#endif
}

}  // namespace hifp8::model
