#include "hifp8/model/linear.h"

#include <algorithm>
#include <cmath>

#include "hifp8/error.h"
#include "hifp8/kernel/parallel.h"
#include "hifp8/quant/quantized_tensor.h"

namespace hifp8::model {
namespace {

const FormatInfo* code_format(io::TensorDType d, const io::QuantizationLayout& layout) {
  switch (d) {
    case io::TensorDType::F8_E4M3: return &format_info(FormatId::fp8_e4m3fn);
    case io::TensorDType::F8_E5M2: return &format_info(FormatId::fp8_e5m2);
    case io::TensorDType::I8: return &format_info(FormatId::int8);
    case io::TensorDType::U8: return layout.method == "hif8" ? layout.format : nullptr;
    default: return nullptr;
  }
}

kernel::DType wide_dtype(io::TensorDType d) {
  switch (d) {
    case io::TensorDType::F32: return kernel::DType::f32;
    case io::TensorDType::F16: return kernel::DType::f16;
    default: return kernel::DType::bf16;
  }
}

}  // namespace

ActQuant parse_act_quant(const std::string& text) {
  if (text == "none") return ActQuant::none;
  if (text == "dynamic") return ActQuant::dynamic;
  if (text == "static") return ActQuant::static_;
  throw Error("unknown --act-quant '" + text + "' (none, dynamic, static)");
}

Linear Linear::load(const io::Checkpoint& ckpt, const io::QuantizationLayout& layout, const std::string& module) {
  const std::string name = module + ".weight";
  const io::Checkpoint::Entry* w = ckpt.find(name);
  if (!w) throw Error("missing tensor '" + name + "'");
  if (w->info->shape.size() != 2) throw Error("tensor '" + name + "' is not 2-D");
  Linear l;
  l.out_ = w->info->shape[0];
  l.in_ = w->info->shape[1];
  l.weight_ = ckpt.bytes(*w).data();
  if (io::is_float_wide(w->info->dtype)) {
    l.wide_ = wide_dtype(w->info->dtype);
  } else {
    l.format_ = code_format(w->info->dtype, layout);
    if (!l.format_)
      throw Error("tensor '" + name + "' has dtype " + std::string(io::dtype_name(w->info->dtype)) +
                  " but the config's quantization_config does not describe it");
    l.granularity_ = layout.granularity;
    const std::string scale_name = module + "." + layout.scale_suffix;
    if (!ckpt.find(scale_name)) throw Error("quantized tensor '" + name + "' has no scale tensor '" + scale_name + "'");
    l.scales_ = io::dequantize_tensor(ckpt, scale_name);
    const std::vector<int64_t> scale_shape = l.granularity_.scale_shape(w->info->shape);
    if (l.scales_.size() != numel(scale_shape))
      throw Error("scale tensor '" + scale_name + "' has " + std::to_string(l.scales_.size()) + " values, expected " +
                  std::to_string(numel(scale_shape)));
    l.scale_cols_ = scale_shape.size() == 2 ? scale_shape[1] : 1;
    if (ckpt.find(module + ".input_scale")) l.input_scale_ = io::dequantize_tensor(ckpt, module + ".input_scale").at(0);
  }
  if (ckpt.find(module + ".bias")) {
    l.bias_ = io::dequantize_tensor(ckpt, module + ".bias");
    if (int64_t(l.bias_.size()) != l.out_) throw Error("tensor '" + module + ".bias' does not match the weight's rows");
  }
  return l;
}

void Linear::weight_row(int64_t o, float* row) const {
  const auto n = static_cast<size_t>(in_);
  if (!format_) {
    kernel::widen(weight_ + size_t(o) * n * kernel::dtype_size(wide_), wide_, row, n, 1);
    return;
  }
  kernel::decode(*format_, weight_ + size_t(o) * n, row, n, 1);
  switch (granularity_.kind) {
    case GranularityKind::tensor:
    case GranularityKind::channel:
    case GranularityKind::token: {
      const float s = scales_[granularity_.kind == GranularityKind::tensor ? 0 : size_t(o)];
      for (size_t i = 0; i < n; ++i) row[i] *= s;
      return;
    }
    case GranularityKind::group:
    case GranularityKind::block: {
      const bool block = granularity_.kind == GranularityKind::block;
      const auto width = static_cast<size_t>(block ? granularity_.block_cols : granularity_.group_size);
      const float* s = scales_.data() + size_t(block ? o / granularity_.block_rows : o) * size_t(scale_cols_);
      for (size_t i = 0; i < n; ++i) row[i] *= s[i / width];
      return;
    }
  }
}

void Linear::quantize_inputs(const float* x, size_t tokens, float* xq, ActQuant act) const {
  const auto n = static_cast<size_t>(in_);
  const float target = default_target(*format_);
  for (size_t t = 0; t < tokens; ++t) {
    float scale = 0;
    if (act == ActQuant::static_ && input_scale_) {
      scale = *input_scale_;
    } else {
      const float amax = kernel::amax(x + t * n, n, 1).amax;
      scale = amax > 0 ? amax / target : 1.0f;
    }
    kernel::fake_quant(*format_, x + t * n, xq + t * n, n, scale, {Overflow::saturate, 1});
  }
}

void Linear::forward(const float* x, size_t tokens, float* y, ActQuant act, int threads) const {
  const auto n = static_cast<size_t>(in_), rows = static_cast<size_t>(out_);
  std::vector<float> xq;
  if (format_ && act != ActQuant::none && tokens) {
    xq.resize(tokens * n);
    quantize_inputs(x, tokens, xq.data(), act);
    x = xq.data();
  }
  // Each thread takes a run of rows: decode a row once, then one dot product per token.
  kernel::parallel_for(rows, threads, [&](size_t begin, size_t end) {
    std::vector<float> row(n);
    for (size_t o = begin; o < end; ++o) {
      weight_row(int64_t(o), row.data());
      const float b = bias_.empty() ? 0.0f : bias_[o];
      for (size_t t = 0; t < tokens; ++t) y[t * rows + o] = kernel::dot(x + t * n, row.data(), n) + b;
    }
  }, std::max<size_t>(1, (size_t{1} << 14) / std::max<size_t>(1, n * std::max<size_t>(1, tokens))));
}

}  // namespace hifp8::model
