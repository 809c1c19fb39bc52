#include "hifp8/model/kv_cache.h"

#include "hifp8/error.h"
#include "hifp8/kernel/array_ops.h"
#include "hifp8/quant/quantized_tensor.h"

namespace hifp8::model {

KvDType parse_kv_dtype(const std::string& t) {
  if (t == "f32" || t == "float32" || t == "auto") return KvDType::f32;
  if (t == "bf16" || t == "bfloat16") return KvDType::bf16;
  if (t == "fp8_e4m3" || t == "fp8" || t == "e4m3") return KvDType::fp8_e4m3;
  if (t == "fp8_e5m2" || t == "e5m2") return KvDType::fp8_e5m2;
  if (t == "hif8") return KvDType::hif8;
  throw Error("unknown KV cache dtype '" + t + "' (f32, bf16, fp8_e4m3, fp8_e5m2, hif8)");
}

std::string kv_dtype_name(KvDType d) {
  switch (d) {
    case KvDType::f32: return "f32";
    case KvDType::bf16: return "bf16";
    case KvDType::fp8_e4m3: return "fp8_e4m3";
    case KvDType::fp8_e5m2: return "fp8_e5m2";
    case KvDType::hif8: return "hif8";
  }
  return "?";
}

KvCache::KvCache(KvDType dtype, int64_t layers, int64_t kv_heads, int64_t head_dim, int64_t max_positions,
                 std::vector<KvLayerScales> static_scales)
    : dtype_(dtype), kv_heads_(kv_heads), head_dim_(head_dim), row_(kv_heads * head_dim), capacity_(max_positions) {
  if (dtype == KvDType::fp8_e4m3) format_ = &format_info(FormatId::fp8_e4m3fn);
  if (dtype == KvDType::fp8_e5m2) format_ = &format_info(FormatId::fp8_e5m2);
  if (dtype == KvDType::hif8) format_ = &format_info(FormatId::hif8);
  const size_t elem = dtype == KvDType::f32 ? 4 : dtype == KvDType::bf16 ? 2 : 1;
  k_.resize(size_t(layers));
  v_.resize(size_t(layers));
  for (int64_t l = 0; l < layers; ++l) {
    for (Plane* p : {&k_[size_t(l)], &v_[size_t(l)]}) {
      p->data.resize(size_t(capacity_ * row_) * elem);
      if (format_) p->scales.resize(size_t(capacity_ * kv_heads_), 1.0f);
    }
    if (format_ && size_t(l) < static_scales.size()) {
      k_[size_t(l)].static_scale = static_scales[size_t(l)].k;
      v_[size_t(l)].static_scale = static_scales[size_t(l)].v;
    }
  }
}

void KvCache::commit(int64_t end) { size_ = std::max(size_, end); }

void KvCache::write(int64_t layer, int64_t pos, const float* k, const float* v) {
  if (pos >= capacity_)
    throw Error("KV cache is full: " + std::to_string(capacity_) + " positions (raise --max-context)");
  store(k_[size_t(layer)], pos, k);
  store(v_[size_t(layer)], pos, v);
}

void KvCache::store(Plane& p, int64_t pos, const float* x) {
  const size_t n = size_t(row_), at = size_t(pos) * n;
  switch (dtype_) {
    case KvDType::f32: std::copy(x, x + n, reinterpret_cast<float*>(p.data.data()) + at); return;
    case KvDType::bf16: kernel::narrow(x, p.data.data() + at * 2, kernel::DType::bf16, n, 1); return;
    default: break;
  }
  const float target = default_target(*format_);
  for (int64_t h = 0; h < kv_heads_; ++h) {
    const float* head = x + h * head_dim_;
    float scale = 1.0f;
    if (p.static_scale) {
      scale = *p.static_scale;
    } else {
      const float amax = kernel::amax(head, size_t(head_dim_), 1).amax;
      if (amax > 0) scale = amax / target;
    }
    p.scales[size_t(pos * kv_heads_ + h)] = scale;
    kernel::encode_scaled(*format_, head, p.data.data() + at + size_t(h * head_dim_), size_t(head_dim_), scale,
                          {Overflow::saturate, 1});
  }
}

const float* KvCache::load(const Plane& p, int64_t n, std::vector<float>& scratch) const {
  if (dtype_ == KvDType::f32) return reinterpret_cast<const float*>(p.data.data());
  const size_t count = size_t(n * row_);
  scratch.resize(count);
  if (dtype_ == KvDType::bf16) {
    kernel::widen(p.data.data(), kernel::DType::bf16, scratch.data(), count, 1);
    return scratch.data();
  }
  for (int64_t i = 0; i < n * kv_heads_; ++i)
    kernel::decode_scaled(*format_, p.data.data() + size_t(i * head_dim_), scratch.data() + size_t(i * head_dim_),
                          size_t(head_dim_), p.scales[size_t(i)], 1);
  return scratch.data();
}

const float* KvCache::keys(int64_t layer, int64_t n, std::vector<float>& scratch) const {
  return load(k_[size_t(layer)], n, scratch);
}
const float* KvCache::values(int64_t layer, int64_t n, std::vector<float>& scratch) const {
  return load(v_[size_t(layer)], n, scratch);
}

}  // namespace hifp8::model
