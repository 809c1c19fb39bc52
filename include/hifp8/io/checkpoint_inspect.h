#pragma once
// Reading a quantized checkpoint back: which layout it is in, dequantizing one tensor, and checking
// that every quantized weight has scales of the right name, dtype and shape and that the config
// matches the tensors.
#include <string>
#include <vector>

#include "hifp8/io/checkpoint.h"
#include "hifp8/quant/quantized_tensor.h"

namespace hifp8::io {

// What config.json's quantization_config says, reduced to what dequantization needs.
struct QuantizationLayout {
  std::string method = "none";  // none, compressed-tensors, fp8, fp8-block, hif8
  const FormatInfo* format = nullptr;
  Granularity granularity;
  std::string scale_suffix = "weight_scale";
  TensorDType weight_dtype = TensorDType::F8_E4M3;
  std::vector<std::string> ignore;
};

QuantizationLayout read_quantization_layout(const nlohmann::json& config);  // throws Error if unsupported

// The format of a weight stored as 8-bit codes of this dtype (U8: HiF8 when the config says so);
// nullptr for float dtypes and for U8 outside a HiF8 checkpoint.
const FormatInfo* code_format(TensorDType dtype, const QuantizationLayout& layout);

// The tensor as float32: float tensors widened, quantized weights decoded and scaled.
std::vector<float> dequantize_tensor(const Checkpoint& ckpt, const std::string& name);

// Human-readable problems; empty means valid.
std::vector<std::string> validate_checkpoint(const Checkpoint& ckpt);

}  // namespace hifp8::io
