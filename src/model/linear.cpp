#include "hifp8/model/linear.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <sys/mman.h>

#include "hifp8/error.h"
#include "hifp8/kernel/parallel.h"
#include "hifp8/quant/quantized_tensor.h"

namespace hifp8::model {
namespace {

// The weights in anonymous memory on 2 MB pages: decoding streams through them once per token, and
// with 4 KB file-backed pages the hardware prefetchers stop at every page boundary (~10 % slower
// decoding on the benchmark model). The page cache copy of the file can then be dropped by the OS.
std::shared_ptr<const uint8_t> copy_to_huge_pages(std::span<const uint8_t> bytes) {
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t size = std::max(kHuge, (bytes.size() + kHuge - 1) / kHuge * kHuge);
  void* p = std::aligned_alloc(kHuge, size);
  if (!p) throw Error("out of memory for " + std::to_string(bytes.size()) + " bytes of weights");
  ::madvise(p, size, MADV_HUGEPAGE);  // a hint: without transparent huge pages it still works
  std::memcpy(p, bytes.data(), bytes.size());
  return {static_cast<const uint8_t*>(p), [](const uint8_t* q) { std::free(const_cast<uint8_t*>(q)); }};
}

}  // namespace

ActQuant parse_act_quant(const std::string& text) {
  if (text == "none") return ActQuant::none;
  if (text == "dynamic") return ActQuant::dynamic;
  if (text == "static") return ActQuant::static_;
  if (text == "auto") return ActQuant::automatic;
  throw Error("unknown --act-quant '" + text + "' (none, dynamic, static, auto)");
}

std::pair<int64_t, int64_t> Linear::shape_of(const io::Checkpoint& ckpt, const io::QuantizationLayout& layout,
                                             const std::string& module) {
  const std::string name = module + ".weight";
  const io::Checkpoint::Entry* w = ckpt.find(name);
  if (!w) throw Error("missing tensor '" + name + "'");
  if (w->info->shape.size() != 2) throw Error("tensor '" + name + "' is not 2-D");
  if (!io::is_float_wide(w->info->dtype)) {
    if (!io::code_format(w->info->dtype, layout))
      throw Error("tensor '" + name + "' has dtype " + std::string(io::dtype_name(w->info->dtype)) +
                  " but the config's quantization_config does not describe it");
    const std::string scale_name = module + "." + layout.scale_suffix;
    const io::Checkpoint::Entry* s = ckpt.find(scale_name);
    if (!s) throw Error("quantized tensor '" + name + "' has no scale tensor '" + scale_name + "'");
    const int64_t expected = numel(layout.granularity.scale_shape(w->info->shape));
    if (int64_t(s->info->numel()) != expected)
      throw Error("scale tensor '" + scale_name + "' has " + std::to_string(s->info->numel()) + " values, expected " +
                  std::to_string(expected));
  }
  if (const io::Checkpoint::Entry* b = ckpt.find(module + ".bias"); b && int64_t(b->info->numel()) != w->info->shape[0])
    throw Error("tensor '" + module + ".bias' does not match the weight's rows");
  return {w->info->shape[0], w->info->shape[1]};
}

Linear Linear::load(const io::Checkpoint& ckpt, const io::QuantizationLayout& layout, const std::string& module) {
  const auto [out, in] = shape_of(ckpt, layout, module);  // validates
  const io::Checkpoint::Entry* w = ckpt.find(module + ".weight");
  Linear l;
  l.name_ = module;
  l.out_ = out;
  l.in_ = in;
  l.storage_ = copy_to_huge_pages(ckpt.bytes(*w));
  l.weight_ = l.storage_.get();
  if (io::is_float_wide(w->info->dtype)) {
    l.wide_ = io::kernel_dtype(w->info->dtype);
  } else {
    l.format_ = io::code_format(w->info->dtype, layout);
    l.granularity_ = layout.granularity;
    l.scales_ = io::dequantize_tensor(ckpt, module + "." + layout.scale_suffix);
    const std::vector<int64_t> scale_shape = l.granularity_.scale_shape(w->info->shape);
    l.scale_cols_ = scale_shape.size() == 2 ? scale_shape[1] : 1;
    if (ckpt.find(module + ".input_scale")) l.input_scale_ = io::dequantize_tensor(ckpt, module + ".input_scale").at(0);
  }
  if (ckpt.find(module + ".bias")) l.bias_ = io::dequantize_tensor(ckpt, module + ".bias");
  return l;
}

const float* Linear::segment_scales(int64_t o, size_t& width) const {
  const bool block = granularity_.kind == GranularityKind::block;
  width = static_cast<size_t>(block ? granularity_.block_cols : granularity_.group_size);
  return scales_.data() + size_t(block ? o / granularity_.block_rows : o) * size_t(scale_cols_);
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
      size_t width = 0;
      const float* s = segment_scales(o, width);
      for (size_t i = 0; i < n; ++i) row[i] *= s[i / width];
      return;
    }
  }
}

namespace {

// parallel_for's least rows per thread: about 16K multiply-adds each, at least 2 rows.
size_t rows_per_thread(size_t n, size_t tokens) {
  return std::max<size_t>(2, (size_t{1} << 14) / std::max<size_t>(1, n * std::max<size_t>(1, tokens)));
}

}  // namespace

float Linear::input_scale(const float* x_token, ActQuant act) const {
  if (act == ActQuant::static_ && input_scale_) return *input_scale_;
  const float amax = kernel::amax(x_token, static_cast<size_t>(in_), 1).amax;
  return amax > 0 ? amax / default_target(*format_) : 1.0f;
}

void Linear::quantize_inputs(const float* x, size_t tokens, float* xq, ActQuant act) const {
  const auto n = static_cast<size_t>(in_);
  for (size_t t = 0; t < tokens; ++t)
    kernel::fake_quant(*format_, x + t * n, xq + t * n, n, input_scale(x + t * n, act), {Overflow::saturate, 1});
}

bool Linear::integer_decode(size_t tokens, ActQuant act) const {
  const GranularityKind g = granularity_.kind;
  return format_ && format_->id == FormatId::int8 && act != ActQuant::none && tokens <= kFusedTokens &&
         in_ < (int64_t{1} << 16) && (g == GranularityKind::tensor || g == GranularityKind::channel);
}

// The same products as the fake-quantized float path (codes times scales), summed exactly.
void Linear::forward_int8(const float* x, size_t tokens, float* y, ActQuant act, int threads) const {
  const auto n = static_cast<size_t>(in_), rows = static_cast<size_t>(out_);
  std::vector<int8_t> xq(tokens * n);
  std::vector<float> xs(tokens);
  for (size_t t = 0; t < tokens; ++t) {
    xs[t] = input_scale(x + t * n, act);
    kernel::encode_scaled(*format_, x + t * n, reinterpret_cast<uint8_t*>(xq.data() + t * n), n, xs[t],
                          {Overflow::saturate, 1});
  }
  const auto* w = reinterpret_cast<const int8_t*>(weight_);
  kernel::parallel_for(rows, threads, [&](size_t begin, size_t end) {
    for (size_t o = begin; o < end; ++o) {
      const float ws = scales_[granularity_.kind == GranularityKind::tensor ? 0 : o];
      for (size_t t = 0; t < tokens; ++t)
        y[t * rows + o] = float(kernel::dot_i8(xq.data() + t * n, w + o * n, n)) * (xs[t] * ws) +
                          (bias_.empty() ? 0.0f : bias_[o]);
    }
  }, rows_per_thread(n, tokens));
}

float Linear::row_dot(int64_t o, const float* x) const {
  const auto n = static_cast<size_t>(in_);
  if (!format_) {
    const uint8_t* w = weight_ + size_t(o) * n * kernel::dtype_size(wide_);
    if (wide_ == kernel::DType::bf16) return kernel::dot_bf16(x, reinterpret_cast<const uint16_t*>(w), n);
    if (wide_ == kernel::DType::f32) return kernel::dot(x, reinterpret_cast<const float*>(w), n);
    std::vector<float> row(n);  // f16: rare in practice
    weight_row(o, row.data());
    return kernel::dot(x, row.data(), n);
  }
  const uint8_t* codes = weight_ + size_t(o) * n;
  switch (granularity_.kind) {
    case GranularityKind::tensor: return scales_[0] * kernel::dot_codes(*format_, x, codes, n);
    case GranularityKind::channel:
    case GranularityKind::token: return scales_[size_t(o)] * kernel::dot_codes(*format_, x, codes, n);
    case GranularityKind::group:
    case GranularityKind::block: break;
  }
  size_t width = 0;
  const float* s = segment_scales(o, width);
  float sum = 0;
  for (size_t c0 = 0, g = 0; c0 < n; c0 += width, ++g)
    sum += s[g] * kernel::dot_codes(*format_, x + c0, codes + c0, std::min(width, n - c0));
  return sum;
}

void Linear::forward(const float* x, size_t tokens, float* y, ActQuant act, int threads) const {
  if (integer_decode(tokens, act)) return forward_int8(x, tokens, y, act, threads);
  const auto n = static_cast<size_t>(in_), rows = static_cast<size_t>(out_);
  std::vector<float> xq;
  if (format_ && act != ActQuant::none && tokens) {
    xq.resize(tokens * n);
    quantize_inputs(x, tokens, xq.data(), act);
    x = xq.data();
  }
  // Few tokens (decoding): weights are read once per token anyway, so decode them inside the dot
  // product. Many tokens (prefill): decode each row once into a buffer and reuse it for every token.
  const bool fused = tokens <= kFusedTokens;
  kernel::parallel_for(rows, threads, [&](size_t begin, size_t end) {
    if (fused) {
      for (size_t o = begin; o < end; ++o)
        for (size_t t = 0; t < tokens; ++t) y[t * rows + o] = row_dot(int64_t(o), x + t * n) + (bias_.empty() ? 0.0f : bias_[o]);
      return;
    }
    // Panels of panel_width() rows decoded once, stored k-major, multiplied with six tokens at a time.
    // The rows are decoded row-major, then transposed a k-step at a time (contiguous stores).
    const size_t width = kernel::panel_width();
    // Per-thread buffers kept between calls: fresh large allocations would page-fault on every layer.
    thread_local std::vector<float> decoded, panel;
    decoded.resize(width * n), panel.resize(n * width);
    for (size_t o = begin; o < end; o += width) {
      const size_t valid = std::min(width, end - o);
      for (size_t r = 0; r < width; ++r) {
        if (r < valid) weight_row(int64_t(o + r), decoded.data() + r * n);
        else std::fill_n(decoded.data() + r * n, n, 0.0f);
      }
      for (size_t k = 0; k < n; ++k)
        for (size_t r = 0; r < width; ++r) panel[k * width + r] = decoded[r * n + k];
      // k blocks of kKBlock: the panel's block (kKBlock x width floats) stays in L1 across the token tiles.
      for (size_t k0 = 0; k0 < n; k0 += kKBlock)
        for (size_t t = 0; t < tokens; t += 6)
          kernel::panel_tile(x + t * n + k0, n, std::min<size_t>(6, tokens - t), panel.data() + k0 * width,
                             std::min(kKBlock, n - k0), y + t * rows + o, rows, valid, k0 > 0);
      if (!bias_.empty())
        for (size_t t = 0; t < tokens; ++t)
          for (size_t r = 0; r < valid; ++r) y[t * rows + o + r] += bias_[o + r];
    }
  }, rows_per_thread(n, tokens));
}

}  // namespace hifp8::model
