// compressed-tensors (llm-compressor's format; stock vLLM and SGLang load it): float-quantized E4M3 or
// int-quantized INT8 weights with weight_scale, activations quantized dynamically per token
// (per group of 128 for block weights), as in ../shared/spec/checkpoint-formats.md.
#include "hifp8/error.h"
#include "io/export/writers.h"

namespace hifp8::io {
namespace {

class CompressedTensorsWriter : public ExportWriter {
 public:
  TensorDType weight_dtype(TensorDType) const override { return TensorDType::F8_E4M3; }
  // The weight strategies vLLM's and SGLang's FP8 W8A8 kernels take: tensor, channel, block (group
  // weights are a weight-only strategy there: a W8A8 FP8 checkpoint with them does not load).
  void check_granularity(const Granularity& g) const override {
    if (g.kind == GranularityKind::group)
      throw Error("compressed-tensors FP8 W8A8 takes tensor, channel or block:RxC weight scales, not " + g.to_string() +
                  " (vLLM and SGLang have no W8A8 kernel for FP8 group weights)");
  }
  std::optional<std::vector<int64_t>> input_scale_shape() const override { return std::vector<int64_t>{1}; }
  nlohmann::json quantization_config(const ExportContext& c) const override {
    const bool is_int = c.scheme.format == FormatId::int8;
    nlohmann::json weights = {{"num_bits", 8},         {"type", is_int ? "int" : "float"},
                              {"symmetric", true},     {"dynamic", false},
                              {"group_size", nullptr}, {"block_structure", nullptr},
                              {"observer", "minmax"}};
    weights.update(strategy_fields(c.granularity));
    const bool block = c.granularity.kind == GranularityKind::block;
    nlohmann::json activations = {{"num_bits", 8},
                                  {"type", is_int ? "int" : "float"},
                                  {"strategy", c.static_activations ? "tensor" : block ? "group" : "token"},
                                  {"symmetric", true},
                                  {"dynamic", !c.static_activations},
                                  {"group_size", block ? nlohmann::json(c.granularity.block_cols) : nlohmann::json(nullptr)},
                                  {"block_structure", nullptr},
                                  {"observer", c.static_activations ? nlohmann::json("minmax") : nlohmann::json(nullptr)}};
    const nlohmann::json kv = c.kv_cache_scales ? nlohmann::json{{"num_bits", 8}, {"type", "float"}, {"strategy", "tensor"},
                                                                 {"dynamic", false}, {"symmetric", true}}
                                                : nlohmann::json(nullptr);
    return {{"quant_method", "compressed-tensors"},
            {"format", is_int ? "int-quantized" : "float-quantized"},
            {"quantization_status", "compressed"},
            {"config_groups",
             {{"group_0",
               {{"targets", {"Linear"}}, {"weights", weights}, {"input_activations", activations}, {"output_activations", nullptr}}}}},
            {"ignore", c.ignore},
            {"kv_cache_scheme", kv}};
  }
};

class CompressedTensorsIntWriter : public CompressedTensorsWriter {
 public:
  TensorDType weight_dtype(TensorDType) const override { return TensorDType::I8; }
  // vLLM's and SGLang's INT8 W8A8 kernels take tensor or channel weight scales only.
  void check_granularity(const Granularity& g) const override {
    if (g.kind != GranularityKind::tensor && g.kind != GranularityKind::channel)
      throw Error("compressed-tensors INT8 W8A8 takes tensor or channel weight scales, not " + g.to_string() +
                  " (vLLM and SGLang have no W8A8 kernel for INT8 " +
                  (g.kind == GranularityKind::block ? "block" : "group") + " weights)");
  }
};

}  // namespace

std::unique_ptr<ExportWriter> make_compressed_tensors_writer(bool int8) {
  if (int8) return std::make_unique<CompressedTensorsIntWriter>();
  return std::make_unique<CompressedTensorsWriter>();
}

}  // namespace hifp8::io
