// quant_method "fp8" layouts: the legacy per-tensor one (AutoFP8; vLLM) and DeepSeek-V3's block-wise
// one (transformers' FineGrainedFP8, vLLM, SGLang), whose scale is named weight_scale_inv but multiplies.
#include "hifp8/error.h"
#include "io/export/writers.h"

namespace hifp8::io {
namespace {

class Fp8LegacyWriter : public ExportWriter {
 public:
  TensorDType weight_dtype(TensorDType) const override { return TensorDType::F8_E4M3; }
  std::vector<int64_t> scale_shape(const std::vector<int64_t>&) const override { return {}; }  // a scalar
  std::optional<std::vector<int64_t>> input_scale_shape() const override { return std::vector<int64_t>{}; }
  void check_granularity(const Granularity& g) const override {
    if (g.kind != GranularityKind::tensor) throw Error("scheme fp8-tensor stores one scale per tensor; use fp8-dynamic for " + g.to_string());
  }
  nlohmann::json quantization_config(const ExportContext& c) const override {
    return {{"quant_method", "fp8"}, {"activation_scheme", c.static_activations ? "static" : "dynamic"}, {"ignored_layers", c.ignore}};
  }
};

class Fp8BlockWriter : public ExportWriter {
 public:
  TensorDType weight_dtype(TensorDType) const override { return TensorDType::F8_E4M3; }
  std::string scale_suffix() const override { return "weight_scale_inv"; }
  std::optional<std::vector<int64_t>> input_scale_shape() const override { return std::nullopt; }  // per-group dynamic
  void check_granularity(const Granularity& g) const override {
    if (g.kind != GranularityKind::block) throw Error("scheme fp8-block needs block granularity, not " + g.to_string());
  }
  nlohmann::json quantization_config(const ExportContext& c) const override {
    return {{"quant_method", "fp8"},
            {"activation_scheme", "dynamic"},
            {"fmt", "e4m3"},
            {"weight_block_size", {c.granularity.block_rows, c.granularity.block_cols}},
            {"ignored_layers", c.ignore}};
  }
};

}  // namespace

std::unique_ptr<ExportWriter> make_fp8_legacy_writer() { return std::make_unique<Fp8LegacyWriter>(); }
std::unique_ptr<ExportWriter> make_fp8_block_writer() { return std::make_unique<Fp8BlockWriter>(); }

}  // namespace hifp8::io
