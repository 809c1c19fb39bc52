// The engine door in libhifp8: the CPU engine here, the GPU engine through the factory libhifp8_cuda
// installs (so libhifp8 itself never links CUDA).
#include "hifp8/error.h"
#include "hifp8/model/engine.h"

namespace hifp8::model {
namespace {

EngineFactory gpu_factory = nullptr;

}  // namespace

void install_gpu_engine(EngineFactory factory) { gpu_factory = factory; }

std::unique_ptr<Engine> open_engine(const Model& model, const EngineOptions& o) {
  if (o.device != "cpu" && o.device != "cuda") throw Error("--device: '" + o.device + "' (expected cpu or cuda)");
  const int64_t context = o.max_context > 0 ? o.max_context : model.config().max_positions;
  const KvDType kv = parse_kv_dtype(!o.kv_cache_dtype.empty() ? o.kv_cache_dtype : o.device == "cuda" ? "bf16" : "f32");
  if (o.device == "cpu") return cpu_engine(model, kv, o.slots, context);
  if (!gpu_factory) throw Error("--device cuda: this program was built without the CUDA engine (HIFP8_CUDA=OFF)");
  if (o.act_quant == ActQuant::static_) throw Error("--act-quant static: the GPU engine quantizes activations dynamically (none, dynamic, auto)");
  EngineOptions resolved = o;
  resolved.max_context = context, resolved.kv_cache_dtype = kv_dtype_name(kv);
  return gpu_factory(model, resolved);
}

}  // namespace hifp8::model
