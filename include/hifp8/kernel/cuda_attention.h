#pragma once
// Attention over a prompt on the GPU (libhifp8_cuda): a fused flash-style kernel. Pointers are device
// memory, bf16 values are uint16_t bit patterns, `stream` is a cudaStream_t (nullptr: the default).
#include <cstdint>

namespace hifp8::cuda {

// Causal attention of `rows` queries at positions start .. start + rows - 1 over the keys and values
// at positions 0 .. start + rows - 1 (a sliding window, if > 0, keeps the last `window` of them):
//   out[r, h * head_dim + d] = sum_j softmax_j(q_h[r] . k_{h / group}[j] / sqrt(head_dim)) v_{h / group}[j, d]
// with group = heads / kv_heads (grouped-query attention). q is head-major [heads][rows][head_dim];
// k and v hold position p, KV head g at (p * kv_heads + g) * head_dim; out is [rows][heads * head_dim].
// Online softmax over key tiles: no score matrix is written. head_dim must be a multiple of 16, at
// most 256 (flash_attention_supported).
struct FlashAttentionArgs {
  const uint16_t* q;
  const uint16_t* k;
  const uint16_t* v;
  uint16_t* out;
  int rows;
  int64_t start, window;
  int64_t heads, kv_heads, head_dim;
};
bool flash_attention_supported(int64_t head_dim);
void flash_attention(const FlashAttentionArgs& a, void* stream = nullptr);

}  // namespace hifp8::cuda
