// hifp8's native HiF8 layout: U8 codes in the Ascend byte layout and float32 scales
// (../shared/spec/checkpoint-formats.md section 4). The target is recorded so the scales can be
// interpreted and the run reproduced.
#include "io/export/writers.h"

namespace hifp8::io {
namespace {

class Hif8NativeWriter : public ExportWriter {
 public:
  TensorDType weight_dtype(TensorDType) const override { return TensorDType::U8; }
  void check_granularity(const Granularity&) const override {}
  std::optional<std::vector<int64_t>> input_scale_shape() const override { return std::vector<int64_t>{1}; }
  nlohmann::json quantization_config(const ExportContext& c) const override {
    nlohmann::json weights = strategy_fields(c.granularity);
    weights["target"] = c.target;
    return {{"quant_method", "hif8"}, {"format", "hifloat8-ascend"}, {"weights", weights},
            {"activation_scheme", c.static_activations ? "static" : "dynamic"}, {"ignore", c.ignore},
            {"kv_cache", c.kv_cache_scales ? nlohmann::json{{"dtype", "fp8_e4m3"}, {"strategy", "tensor"}, {"dynamic", false}}
                                           : nlohmann::json(nullptr)},
            {"smoothquant", c.smoothquant}};
  }
};

}  // namespace

std::unique_ptr<ExportWriter> make_hif8_native_writer() { return std::make_unique<Hif8NativeWriter>(); }

}  // namespace hifp8::io
