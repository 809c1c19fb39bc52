#pragma once
// One linear layer y = x W^T (+ b) over weights kept as they are stored: F32/BF16/F16 rows widened on
// the fly, 8-bit codes (FP8, INT8, HiF8) decoded inside the matmul with their scales (W8A16). The
// weight bytes are copied as they are (8-bit stays 8-bit) onto huge pages; nothing is expanded.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hifp8/format/format.h"
#include "hifp8/io/checkpoint.h"
#include "hifp8/io/checkpoint_inspect.h"
#include "hifp8/kernel/array_ops.h"
#include "hifp8/format/granularity.h"

namespace hifp8::model {

// Quantization of the inputs of 8-bit linears, to reproduce a W8A8 deployment.
enum class ActQuant {
  none,     // W8A16: inputs stay float
  dynamic,  // per token: scale = amax(token) / target of the weight format
  static_,  // the checkpoint's input_scale (per tensor); dynamic where a layer has none
  // The engine's choice: none on the CPU; on the GPU, dynamic for E4M3 weights in passes of more than
  // 8 rows (W8A8 on the FP8 tensor cores: prefill, large decode batches), none below (W8A16).
  automatic,
};
ActQuant parse_act_quant(const std::string& text);  // "none", "dynamic", "static", "auto"

class Linear {
 public:
  Linear() = default;
  // Loads `module`.weight and, when present, `module`.bias and `module`.input_scale.
  // Throws Error naming the tensor if it is missing, not 2-D, or of an unusable dtype.
  static Linear load(const io::Checkpoint& ckpt, const io::QuantizationLayout& layout, const std::string& module);
  // The same checks without copying the weight: {out, in}.
  static std::pair<int64_t, int64_t> shape_of(const io::Checkpoint& ckpt, const io::QuantizationLayout& layout,
                                              const std::string& module);

  const std::string& name() const { return name_; }  // the module, e.g. model.layers.0.mlp.up_proj
  int64_t in() const { return in_; }
  int64_t out() const { return out_; }
  bool quantized() const { return format_ != nullptr; }
  const FormatInfo* format() const { return format_; }

  // y[t * out + o] = sum_i x[t * in + i] * W[o, i] + b[o] for t < tokens; threads split the rows of W.
  void forward(const float* x, size_t tokens, float* y, ActQuant act, int threads = 0) const;

  // The weights as stored, for other backends (the GPU engine uploads them as they are): row-major
  // [out, in] of wide_dtype() (float weights) or of 8-bit codes with scales() over granularity().
  const uint8_t* weight_bytes() const { return weight_; }
  kernel::DType wide_dtype() const { return wide_; }
  const Granularity& granularity() const { return granularity_; }
  const std::vector<float>& scales() const { return scales_; }
  const std::vector<float>& bias() const { return bias_; }

  // Row o of W as float32 (scales applied): for tests and reference comparisons.
  void weight_row(int64_t o, float* row) const;

 private:
  float input_scale(const float* x_token, ActQuant act) const;  // of one token's inputs
  void quantize_inputs(const float* x, size_t tokens, float* xq, ActQuant act) const;
  float row_dot(int64_t o, const float* x) const;  // dot(x, row o of W), scales applied
  // Decoding with INT8 weights (tensor or channel scales) and quantized inputs: the inputs' INT8 codes
  // times the weights' in integers (kernel::dot_i8), both scales applied after.
  bool integer_decode(size_t tokens, ActQuant act) const;
  void forward_int8(const float* x, size_t tokens, float* y, ActQuant act, int threads) const;
  // Group/block granularity: row o's scales, one per `width` columns.
  const float* segment_scales(int64_t o, size_t& width) const;

  static constexpr size_t kFusedTokens = 2;
  static constexpr size_t kKBlock = 256;  // prefill: k rows of a weight panel multiplied at a time
  std::string name_;
  int64_t in_ = 0, out_ = 0;
  std::shared_ptr<const uint8_t> storage_;  // the weight bytes, copied out of the checkpoint
  const uint8_t* weight_ = nullptr;
  kernel::DType wide_ = kernel::DType::f32;  // float weights
  const FormatInfo* format_ = nullptr;       // 8-bit weights
  Granularity granularity_;
  std::vector<float> scales_;  // row-major over granularity_.scale_shape
  int64_t scale_cols_ = 1;
  std::vector<float> bias_;
  std::optional<float> input_scale_;
};

}  // namespace hifp8::model
