#pragma once
// The transformer-block kernels of the GPU engine (everything but the matmuls), as host launchers.
// All pointers are device memory; bf16 values are uint16_t patterns; `s` is the stream.
#include <cuda_runtime.h>

#include <cstdint>

#include "hifp8/format/format.h"
#include "hifp8/kernel/array_ops.h"

namespace hifp8::model::gpu {

// Per row of a pass: which sequence slot it belongs to and its absolute position.
struct RowInfo {
  const int32_t* slot;
  const int32_t* pos;
};

// The KV cache of one layer: [slots][max_positions][kv_heads][head_dim] elements (bf16, or 8-bit
// codes with a float scale per [slot][position][head]).
struct KvPlane {
  void* data;
  float* scales;            // 8-bit only
  const float* static_scale;  // 8-bit with a checkpoint scale (device scalar), else null
};
struct KvLayout {
  const FormatInfo* format;  // null: bf16
  int64_t max_positions, kv_heads, head_dim;
};

// h[r] = embedding[tokens[r]] (float32 rows from an F32/BF16/F16 table).
void embed(const int32_t* tokens, int rows, const void* table, kernel::DType dtype, int64_t hidden, float* h,
           cudaStream_t s);
// h[r] += delta[r] (when delta is not null), then out[r] = bf16(h[r] / rms(h[r]) * w); float32 [rows, n].
void residual_rms_norm(float* h, const float* delta, const float* w, int rows, int64_t n, double eps, uint16_t* out,
                       cudaStream_t s);
// y[r, c] += bias[c].
void add_bias(float* y, const float* bias, int rows, int64_t cols, cudaStream_t s);
// out[r, i] = bf16(silu(gu[r, i]) * gu[r, inter + i]) for the fused gate/up product gu [rows, 2 inter].
void silu_mul(const float* gate_up, int rows, int64_t inter, uint16_t* out, cudaStream_t s);

// Optional per-head RMSNorm (q_norm / k_norm, null to skip), RoPE on q and k (HF rotate_half): the
// queries to q_out, the keys and the values of each row to the cache at (slot, pos). qkv is the fused
// projection [rows, stride]: q at column 0, k at heads * head_dim, v after k.
struct RopeArgs {
  const float* qkv;
  int64_t stride;
  float* q_out;
  uint16_t* q_heads;  // optional: the queries again as bf16, head-major [heads][rows][head_dim] (prefill)
  int rows;
  int64_t heads, kv_heads, head_dim;
  const float* inv_freq;
  const float *q_norm, *k_norm;
  double eps;
};
void rope_and_store(const RopeArgs& a, RowInfo rows, const KvLayout& kv, KvPlane k_plane, KvPlane v_plane,
                    cudaStream_t s);

// ctx[r, head] = softmax(q . K[slot, first..pos] / sqrt(d)) V for each row's own slot and position
// (causal; first = pos - window + 1 with a sliding window). With `split` scratch for the rows, the
// positions are split over blocks that each read a KV head once for all its query heads, then merged
// (flash-decoding); without it, or for head sizes it has no instance for, one block per (row, head).
constexpr int64_t kMaxSplits = 64;
struct AttentionSplitScratch {
  float* o = nullptr;    // [rows][heads][kMaxSplits][head_dim]
  float2* ml = nullptr;  // [rows][heads][kMaxSplits]
  int rows = 0;
};
struct AttentionArgs {
  const float* q;
  uint16_t* ctx;
  int rows;
  int64_t heads, window;  // window 0: none
  AttentionSplitScratch split;
};
void attention(const AttentionArgs& a, RowInfo rows, const KvLayout& kv, KvPlane k_plane, KvPlane v_plane,
               cudaStream_t s);

// Prefill attention through two batched GEMMs (one sequence, positions start .. start + rows - 1, bf16
// KV cache): S = Q K^T per KV head (its query heads stacked), this softmax, O = P V, then the transpose.
// scores: [heads][rows][keys] float32 -> probs bf16 (causal, sliding window, scaled by 1/sqrt(head_dim)).
void causal_softmax(const float* scores, uint16_t* probs, int64_t heads, int rows, int64_t keys, int64_t start,
                    int64_t window, int64_t head_dim, cudaStream_t s);
// The first `positions` entries of a slot's 8-bit cache plane decoded to bf16 [positions][kv_heads][head_dim].
void dequantize_kv(const KvLayout& kv, KvPlane plane, int64_t slot, int64_t positions, uint16_t* out, cudaStream_t s);
// ctx[r][h * head_dim + d] = bf16(o[h][r][d]).
void heads_to_rows(const float* o, uint16_t* ctx, int64_t heads, int rows, int64_t head_dim, cudaStream_t s);

// One token per row of logits [rows, vocab] (device), with the row's own parameters (device):
// argmax at temperature 0, else a draw from softmax(logits / temperature) cut to the top-k and the
// top-p nucleus (all of a tie at a cut kept), with a counter-based generator keyed by (seed, index);
// -1 for a row with NaN logits.
struct SampleParams {
  float temperature = 0;
  float top_p = 1;
  int64_t top_k = 0;
  uint64_t seed = 0;
};
void sample(const float* logits, int rows, int64_t vocab, const SampleParams* params, int32_t* out, cudaStream_t s);

// Mixture of experts. route: per row of router logits [rows, experts], the k chosen experts (ids
// [rows, k], best first) and their weights, as the CPU engine computes them. gather_rows: out[i] =
// x[source[i]] for count rows of `cols` bf16 values. combine_experts: out[r] = sum_j weights[r, j] *
// y[entry[r, j]] (float32 rows; j in order, so the sum is deterministic).
void route(const float* logits, int rows, int experts, int k, bool softmax_after_top_k, bool normalize, int32_t* ids,
           float* weights, cudaStream_t s);
void gather_rows(const uint16_t* x, const int32_t* source, int64_t count, int64_t cols, uint16_t* out, cudaStream_t s);
void combine_experts(const float* y, const int32_t* entry, const float* weights, int rows, int k, int64_t cols,
                     float* out, cudaStream_t s);

// Per row of logits [rows, vocab] with targets[r] >= 0: log softmax at the target and the argmax (ties
// to the lowest index), and with reference logits (same shape, or null) KL(reference || row). Rows
// with a negative target are skipped.
struct RowScore {
  float logprob;
  int32_t argmax;
  float kl;
};
void score(const float* logits, int rows, int64_t vocab, const int32_t* targets, const float* reference, RowScore* out,
           cudaStream_t s);

}  // namespace hifp8::model::gpu
