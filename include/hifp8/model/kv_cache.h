#pragma once
// Keys and values of past positions, per layer, in f32, bf16 or an 8-bit format. 8-bit entries carry
// a scale per (position, kv head) computed from the values written (amax / target), unless the
// checkpoint gives a per-layer k_scale / v_scale, which is then used for every entry (as vLLM does).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hifp8/format/format.h"

namespace hifp8::model {

enum class KvDType { f32, bf16, fp8_e4m3, fp8_e5m2, hif8 };
KvDType parse_kv_dtype(const std::string& text);  // f32, bf16, fp8_e4m3 (fp8), fp8_e5m2, hif8
std::string kv_dtype_name(KvDType d);

struct KvLayerScales {
  std::optional<float> k, v;  // static scales from the checkpoint
};

class KvCache {
 public:
  KvCache(KvDType dtype, int64_t layers, int64_t kv_heads, int64_t head_dim, int64_t max_positions,
          std::vector<KvLayerScales> static_scales = {});

  KvDType dtype() const { return dtype_; }
  int64_t size() const { return size_; }  // positions held
  int64_t capacity() const { return capacity_; }

  // Stores k and v ([kv_heads * head_dim] each) of position pos (must be <= size()) in layer.
  void write(int64_t layer, int64_t pos, const float* k, const float* v);
  // Marks positions up to end as held (after every layer has written them).
  void commit(int64_t end);
  // Keys / values of positions [0, n) of a layer as float32 [n][kv_heads * head_dim]: the storage
  // itself for f32, else decoded into scratch.
  const float* keys(int64_t layer, int64_t n, std::vector<float>& scratch) const;
  const float* values(int64_t layer, int64_t n, std::vector<float>& scratch) const;

 private:
  struct Plane {  // one of K or V of one layer
    std::vector<uint8_t> data;  // capacity x row elements of the dtype
    std::vector<float> scales;  // 8-bit: capacity x kv_heads
    std::optional<float> static_scale;
  };
  void store(Plane& p, int64_t pos, const float* x);
  const float* load(const Plane& p, int64_t n, std::vector<float>& scratch) const;

  KvDType dtype_;
  const FormatInfo* format_ = nullptr;
  int64_t kv_heads_, head_dim_, row_, capacity_, size_ = 0;
  std::vector<Plane> k_, v_;
};

}  // namespace hifp8::model
