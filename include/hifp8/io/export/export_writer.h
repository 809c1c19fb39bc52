#pragma once
// One export writer per checkpoint layout (docs/quantize.md): how a quantized weight is stored (its
// dtype, its scale tensor's name and shape) and the quantization_config that goes into config.json.
// The pipeline (io/quantize_checkpoint) is the same for all of them.
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hifp8/io/tensor_dtype.h"
#include "hifp8/format/granularity.h"
#include "hifp8/quant/scheme.h"

namespace hifp8::io {

struct ExportContext {
  const Scheme& scheme;
  Granularity granularity;
  float target;                     // scale = amax / target
  std::vector<std::string> ignore;  // Linear modules left unquantized (lm_head, routers, --ignore hits)
  bool static_activations = false;  // calibrated: X.input_scale per quantized linear
  bool kv_cache_scales = false;     // calibrated: self_attn.k_scale / v_scale per layer (E4M3 KV cache)
  bool smoothquant = false;         // SmoothQuant folded into the weights and norms
};

class ExportWriter {
 public:
  virtual ~ExportWriter() = default;
  // false: the weight is written as dequantized values in its original dtype and has no scale tensor.
  virtual bool writes_codes() const { return true; }
  virtual TensorDType weight_dtype(TensorDType original) const = 0;
  virtual std::string scale_suffix() const { return "weight_scale"; }
  // The scale tensor's shape; QuantizedTensor's scale_shape unless the layout says otherwise.
  virtual std::vector<int64_t> scale_shape(const std::vector<int64_t>& quantized_scale_shape) const {
    return quantized_scale_shape;
  }
  // The shape of X.input_scale for static (calibrated) activations; nullopt when the layout only has
  // dynamic activations.
  virtual std::optional<std::vector<int64_t>> input_scale_shape() const { return std::nullopt; }
  // Throws Error when the layout cannot express the granularity.
  virtual void check_granularity(const Granularity& g) const = 0;
  // The "quantization_config" object, or null for none.
  virtual nlohmann::json quantization_config(const ExportContext& context) const = 0;
};

std::unique_ptr<ExportWriter> make_export_writer(const Scheme& scheme);

// Shared by the writers: "channel", "tensor", "group", "block" and its compressed-tensors extras.
nlohmann::json strategy_fields(const Granularity& g);

}  // namespace hifp8::io
