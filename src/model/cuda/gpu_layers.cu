// Transformer-block kernels of the GPU engine: embedding, RMSNorm, residual/bias/SiLU element-wise
// work, RoPE with the KV-cache write (8-bit caches quantized per position and head), attention over
// each row's own sequence, and sampling. Plain one-pass kernels: the matmuls dominate the time.
#include <cooperative_groups.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cfloat>
#include <cmath>

#include "gpu_layers.h"
#include "hifp8/format/bits.h"
#include "hifp8/quant/quantized_tensor.h"
#include "hifp8/kernel/cuda.h"
#include "kernel/cuda/cp_async.cuh"
#include "kernel/cuda/device_format.cuh"
#include "kernel/cuda/launch.h"

namespace hifp8::model::gpu {
namespace {

using cuda::detail::FormatTables;
namespace cg = cooperative_groups;

constexpr int kThreads = 256;

__device__ __forceinline__ float bf16f(uint16_t v) { return __uint_as_float(uint32_t{v} << 16); }
__device__ __forceinline__ uint16_t to_bf16(float x) { return f32_to_bf16(x); }

// Sum (or max) over the block; every thread gets the result, the same for the same inputs (a fixed
// shuffle tree per warp, then the warps in order). `scratch` holds one value per warp.
template <bool Max, class T = float>
__device__ T block_reduce(T v, T* scratch) {
  for (int o = 16; o; o >>= 1) {
    const T other = __shfl_xor_sync(0xffffffffu, v, o);
    v = Max ? max(v, other) : v + other;
  }
  const int warps = (blockDim.x + 31) / 32;
  __syncthreads();
  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = v;
  __syncthreads();
  T r = scratch[0];
  for (int w = 1; w < warps; ++w) r = Max ? max(r, scratch[w]) : r + scratch[w];
  return r;
}

unsigned blocks_for(int64_t count) {
  return unsigned(std::min<int64_t>((count + kThreads - 1) / kThreads, int64_t{cuda::sm_count()} * 8));
}

__global__ void embed_kernel(const int32_t* tokens, const void* table, kernel::DType dtype, int64_t hidden, float* h) {
  const int64_t row = blockIdx.x, base = int64_t{tokens[row]} * hidden;
  for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x) {
    float v;
    switch (dtype) {
      case kernel::DType::f32: v = static_cast<const float*>(table)[base + i]; break;
      case kernel::DType::bf16: v = bf16f(static_cast<const uint16_t*>(table)[base + i]); break;
      default: v = f16_to_f32(static_cast<const uint16_t*>(table)[base + i]); break;
    }
    h[row * hidden + i] = v;
  }
}

// One block of kNormThreads per row; a row of up to kNormThreads * kNormPerThread values stays in
// registers between the sum of squares and the scaling (longer rows are read twice).
constexpr int kNormThreads = 1024, kNormPerThread = 8;

__global__ void __launch_bounds__(kNormThreads) residual_rms_norm_kernel(float* h, const float* delta, const float* w,
                                                                        int64_t n, float eps, uint16_t* out) {
  __shared__ float scratch[32];
  float* xr = h + int64_t{blockIdx.x} * n;
  const float* dr = delta ? delta + int64_t{blockIdx.x} * n : nullptr;
  uint16_t* o = out + int64_t{blockIdx.x} * n;
  const bool in_registers = n <= int64_t{kNormThreads} * kNormPerThread;
  float v[kNormPerThread];
  float ss = 0;
#pragma unroll
  for (int j = 0; j < kNormPerThread; ++j) {
    const int64_t i = threadIdx.x + int64_t{j} * kNormThreads;
    v[j] = i < n && in_registers ? xr[i] + (dr ? dr[i] : 0.0f) : 0.0f;
  }
#pragma unroll
  for (int j = 0; j < kNormPerThread; ++j) {
    const int64_t i = threadIdx.x + int64_t{j} * kNormThreads;
    if (i < n && in_registers && dr) xr[i] = v[j];
    ss += v[j] * v[j];
  }
  if (!in_registers)
    for (int64_t i = threadIdx.x; i < n; i += kNormThreads) {
      const float x = dr ? (xr[i] += dr[i]) : xr[i];
      ss += x * x;
    }
  ss = block_reduce<false>(ss, scratch);
  const float inv = 1.0f / sqrtf(ss / float(n) + eps);
  if (in_registers) {
#pragma unroll
    for (int j = 0; j < kNormPerThread; ++j) {
      const int64_t i = threadIdx.x + int64_t{j} * kNormThreads;
      if (i < n) o[i] = to_bf16(w[i] * (v[j] * inv));
    }
  } else {
    for (int64_t i = threadIdx.x; i < n; i += kNormThreads) o[i] = to_bf16(w[i] * (xr[i] * inv));
  }
}

__global__ void add_bias_kernel(float* y, const float* bias, int64_t cols, int64_t count) {
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < count; i += int64_t{gridDim.x} * blockDim.x)
    y[i] += bias[i % cols];
}

__global__ void silu_mul_kernel(const float* gu, int64_t inter, uint16_t* out, int64_t count) {
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < count; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t r = i / inter, c = i % inter;
    const float x = gu[r * 2 * inter + c];
    out[i] = to_bf16(x / (1.0f + expf(-x)) * gu[r * 2 * inter + inter + c]);
  }
}

__device__ uint8_t encode_saturating(FormatId id, float x, const uint8_t* ascend_to_rank) {
  switch (id) {
    case FormatId::hif8: return cuda::detail::encode_value<FormatId::hif8, Overflow::saturate>(x, ascend_to_rank);
    case FormatId::hif8_rank: return cuda::detail::encode_value<FormatId::hif8_rank, Overflow::saturate>(x, ascend_to_rank);
    case FormatId::fp8_e4m3fn: return cuda::detail::encode_value<FormatId::fp8_e4m3fn, Overflow::saturate>(x, ascend_to_rank);
    case FormatId::fp8_e5m2: return cuda::detail::encode_value<FormatId::fp8_e5m2, Overflow::saturate>(x, ascend_to_rank);
    case FormatId::int8: return cuda::detail::encode_value<FormatId::int8, Overflow::saturate>(x, ascend_to_rank);
  }
  __trap();  // a format without a device encoder: the host refuses it before launching (no silent INT8)
  return 0;
}

struct KvArgs {
  FormatId format;
  bool quantized;
  float target;
  int64_t max_positions, kv_heads, head_dim;
  FormatTables tables;
};

KvArgs kv_args(const KvLayout& kv) {
  KvArgs a{};
  a.quantized = kv.format != nullptr;
  if (kv.format) {
    a.format = kv.format->id;
    a.target = default_target(*kv.format);
    a.tables = cuda::detail::tables_of(*kv.format);
  }
  a.max_positions = kv.max_positions;
  a.kv_heads = kv.kv_heads;
  a.head_dim = kv.head_dim;
  return a;
}

// Stores one head vector (held one element per thread pair: x0 at i, x1 at i + half) at (slot, pos, head).
// Threads i >= half (the block has at least a warp) hold zeros and store nothing.
__device__ void store_head(const KvArgs& kv, KvPlane plane, const cuda::detail::SharedTables& tables, int64_t slot,
                           int64_t pos, int64_t head, int i, int half, float x0, float x1, float* scratch) {
  const int64_t entry = (slot * kv.max_positions + pos) * kv.kv_heads + head;
  const int64_t at = entry * kv.head_dim;
  const bool active = i < half;
  if (!kv.quantized) {
    if (!active) return;
    static_cast<uint16_t*>(plane.data)[at + i] = to_bf16(x0);
    static_cast<uint16_t*>(plane.data)[at + i + half] = to_bf16(x1);
    return;
  }
  float scale;
  if (plane.static_scale) {
    scale = *plane.static_scale;
  } else {
    const float amax = block_reduce<true>(fmaxf(fabsf(x0), fabsf(x1)), scratch);
    scale = amax > 0 ? amax / kv.target : 1.0f;
  }
  if (i == 0) plane.scales[entry] = scale;
  if (!active) return;
  uint8_t* codes = static_cast<uint8_t*>(plane.data);
  codes[at + i] = encode_saturating(kv.format, __fdiv_rn(x0, scale), tables.ascend_to_rank);
  codes[at + i + half] = encode_saturating(kv.format, __fdiv_rn(x1, scale), tables.ascend_to_rank);
}

// Block (row, head); head < heads: a query head, else a KV head (whose value is stored too).
// max(32, head_dim / 2) threads, thread i < head_dim / 2 holding the rotate_half pair (i, i + head_dim / 2).
__global__ void rope_store_kernel(const RopeArgs a, RowInfo rows, const KvArgs kv, KvPlane kp, KvPlane vp) {
  __shared__ float scratch[32];
  __shared__ cuda::detail::SharedTables tables;
  if (kv.quantized) tables.fill(kv.tables);
  const int64_t r = blockIdx.x, head = blockIdx.y;
  const bool is_q = head < a.heads;
  const int half = int(a.head_dim / 2), i = threadIdx.x;
  const bool active = i < half;
  const float* x = a.qkv + r * a.stride + head * a.head_dim;  // q heads, then k heads
  float x0 = active ? x[i] : 0.0f, x1 = active ? x[i + half] : 0.0f;
  const float* norm = is_q ? a.q_norm : a.k_norm;
  if (norm) {
    const float ss = block_reduce<false>(x0 * x0 + x1 * x1, scratch);
    const float inv = 1.0f / sqrtf(ss / float(a.head_dim) + float(a.eps));
    if (active) x0 = norm[i] * (x0 * inv), x1 = norm[i + half] * (x1 * inv);
  }
  const int64_t pos = rows.pos[r];
  const float angle = active ? float(pos) * a.inv_freq[i] : 0.0f;
  double sd, cd;
  sincos(double(angle), &sd, &cd);
  const float c = float(cd), s = float(sd);
  const float y0 = x0 * c - x1 * s, y1 = x1 * c + x0 * s;
  if (is_q) {
    if (!active) return;
    float* out = a.q_out + (r * a.heads + head) * a.head_dim;
    out[i] = y0;
    out[i + half] = y1;
    if (a.q_heads) {
      uint16_t* qh = a.q_heads + (head * a.rows + r) * a.head_dim;
      qh[i] = to_bf16(y0);
      qh[i + half] = to_bf16(y1);
    }
    return;
  }
  const int64_t kvh = head - a.heads, slot = rows.slot[r];
  store_head(kv, kp, tables, slot, pos, kvh, i, half, y0, y1, scratch);
  const float* v = a.qkv + r * a.stride + (a.heads + a.kv_heads + kvh) * a.head_dim;
  store_head(kv, vp, tables, slot, pos, kvh, i, half, active ? v[i] : 0.0f, active ? v[i + half] : 0.0f, scratch);
}

__device__ __forceinline__ float kv_value(const KvArgs& kv, const KvPlane& p, const float* decode, int64_t entry,
                                          int64_t d) {
  const int64_t at = entry * kv.head_dim + d;
  if (!kv.quantized) return bf16f(static_cast<const uint16_t*>(p.data)[at]);
  return __fmul_rn(decode[static_cast<const uint8_t*>(p.data)[at]], p.scales[entry]);
}

// q . key(entry) over the head: 8 elements per 16-byte load (bf16) or 16 (8-bit codes) where head_dim
// is a multiple of 16, element by element otherwise.
__device__ __forceinline__ float dot_key(const KvArgs& kv, const KvPlane& p, const float* decode, int64_t entry,
                                         const float* q) {
  float dot = 0;
  if (kv.head_dim % 16 != 0) {
    for (int64_t d = 0; d < kv.head_dim; ++d) dot += q[d] * kv_value(kv, p, decode, entry, d);
    return dot;
  }
  if (!kv.quantized) {
    const uint4* k = reinterpret_cast<const uint4*>(static_cast<const uint16_t*>(p.data) + entry * kv.head_dim);
    for (int64_t c = 0; c < kv.head_dim / 8; ++c) {
      const uint4 raw = k[c];
      const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
      for (int e = 0; e < 4; ++e)
        dot += q[8 * c + 2 * e] * __uint_as_float(w[e] << 16) + q[8 * c + 2 * e + 1] * __uint_as_float(w[e] & 0xffff0000u);
    }
    return dot;
  }
  const uint4* k = reinterpret_cast<const uint4*>(static_cast<const uint8_t*>(p.data) + entry * kv.head_dim);
  for (int64_t c = 0; c < kv.head_dim / 16; ++c) {
    const uint4 raw = k[c];
    const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
    for (int e = 0; e < 16; ++e) dot += q[16 * c + e] * decode[(w[e / 4] >> (8 * (e % 4))) & 0xffu];
  }
  return dot * p.scales[entry];
}

// Block (row, query head): one key per thread for the scores (in shared memory), softmax, then the
// values: the block's threads form groups of head_dim, thread (group, d) sums output dimension d over
// positions group, group + groups, ... with four positions' loads in flight, and the groups' sums
// are added through shared memory. One output dimension per thread walking every position was
// latency-bound (a chain of count / 4 dependent loads per thread).
__global__ void __launch_bounds__(1024) attention_kernel(const AttentionArgs a, RowInfo rows, const KvArgs kv, KvPlane kp, KvPlane vp) {
  extern __shared__ float smem[];
  float* q = smem;                   // head_dim
  float* decode = q + kv.head_dim;   // 256
  float* partial = decode + 256;     // blockDim.x: each group's sums
  float* scores = partial + blockDim.x;  // max_positions
  __shared__ float scratch[32];
  const int64_t r = blockIdx.x, h = blockIdx.y, hd = kv.head_dim;
  const int64_t kvh = h / (a.heads / kv.kv_heads), slot = rows.slot[r], pos = rows.pos[r];
  const int64_t first = a.window > 0 ? max(int64_t{0}, pos - a.window + 1) : 0;
  const float inv_sqrt = 1.0f / sqrtf(float(hd));
  for (int64_t d = threadIdx.x; d < hd; d += blockDim.x) q[d] = a.q[(r * a.heads + h) * hd + d] * inv_sqrt;
  if (kv.quantized)
    for (int c = threadIdx.x; c < 256; c += blockDim.x) decode[c] = kv.tables.decode[c];
  __syncthreads();
  const int64_t base = slot * kv.max_positions, count = pos - first + 1;
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    scores[j] = dot_key(kv, kp, decode, (base + first + j) * kv.kv_heads + kvh, q);
    m = fmaxf(m, scores[j]);
  }
  m = block_reduce<true>(m, scratch);
  float sum = 0;
  for (int64_t j = threadIdx.x; j < count; j += blockDim.x) sum += scores[j] = expf(scores[j] - m);
  sum = block_reduce<false>(sum, scratch);  // its barriers also publish the exponentials
  const int64_t groups = max(int64_t{1}, int64_t{blockDim.x} / hd), group = threadIdx.x / hd;
  for (int64_t d = threadIdx.x % hd; d < hd && group < groups; d += blockDim.x) {  // d += ...: head_dim > blockDim
    float acc[4] = {};
    int64_t j = group;
    for (; j + 3 * groups < count; j += 4 * groups)
#pragma unroll
      for (int u = 0; u < 4; ++u)
        acc[u] += scores[j + u * groups] *
                  kv_value(kv, vp, decode, (base + first + j + u * groups) * kv.kv_heads + kvh, d);
    for (; j < count; j += groups) acc[0] += scores[j] * kv_value(kv, vp, decode, (base + first + j) * kv.kv_heads + kvh, d);
    const float total = acc[0] + acc[1] + acc[2] + acc[3];
    if (groups == 1) a.ctx[(r * a.heads + h) * hd + d] = to_bf16(total / sum);
    else partial[group * hd + d] = total;
  }
  if (groups == 1) return;
  __syncthreads();
  for (int64_t d = threadIdx.x; d < hd; d += blockDim.x) {
    float total = 0;
    for (int64_t g = 0; g < groups; ++g) total += partial[g * hd + d];
    a.ctx[(r * a.heads + h) * hd + d] = to_bf16(total / sum);
  }
}

// Decoding attention split over positions (flash-decoding). Block (row, KV head, split) takes the
// positions [split * chunk, +chunk) of the row's causal range for all `group` query heads that read
// this KV head, so each key and value is read once, not once per query head. It walks them in tiles
// of kTile positions that cp.async copies into shared memory one tile ahead (the bytes in flight a
// direct load per lane could not keep), with an online softmax across tiles. Scores: a team of lanes
// per key, each lane holding 16 dimensions in registers (a few shuffles per dot product). Values: teams
// of up to 32 lanes per position. The block writes its unnormalized output with its softmax maximum
// and sum; combine_splits_kernel merges the splits.
constexpr int kSplitWarps = 8;
constexpr int kMaxGroup = 8;  // query heads per KV head handled this way
constexpr int kTile = 64;     // positions per shared-memory tile

struct SplitOutput {
  float* o;    // [rows][heads][splits][head_dim], unnormalized
  float2* ml;  // [rows][heads][splits]: softmax maximum and sum
  int64_t chunk, splits;
};

__device__ __forceinline__ int64_t causal_first(const AttentionArgs& a, int64_t pos) {
  return a.window > 0 ? max(int64_t{0}, pos - a.window + 1) : 0;
}

// VPL consecutive elements from dimension d0 of a cache entry held in shared memory, as floats
// (8-bit codes through the decode table, times the entry's scale).
template <int VPL, bool Q8>
__device__ __forceinline__ void load_row(const unsigned char* row, int d0, float scale, const float* decode, float* out) {
  if constexpr (!Q8) {
    const uint16_t* src = reinterpret_cast<const uint16_t*>(row) + d0;
    if constexpr (VPL % 8 == 0) {
#pragma unroll
      for (int c = 0; c < VPL / 8; ++c) {
        const uint4 raw = reinterpret_cast<const uint4*>(src)[c];
        const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
        for (int e = 0; e < 4; ++e)
          out[8 * c + 2 * e] = __uint_as_float(w[e] << 16), out[8 * c + 2 * e + 1] = __uint_as_float(w[e] & 0xffff0000u);
      }
    } else if constexpr (VPL % 4 == 0) {
#pragma unroll
      for (int c = 0; c < VPL / 4; ++c) {
        const uint2 raw = reinterpret_cast<const uint2*>(src)[c];
        out[4 * c] = __uint_as_float(raw.x << 16), out[4 * c + 1] = __uint_as_float(raw.x & 0xffff0000u);
        out[4 * c + 2] = __uint_as_float(raw.y << 16), out[4 * c + 3] = __uint_as_float(raw.y & 0xffff0000u);
      }
    } else {
#pragma unroll
      for (int v = 0; v < VPL; ++v) out[v] = bf16f(src[v]);
    }
  } else {
    const uint8_t* src = row + d0;
    if constexpr (VPL % 4 == 0) {
#pragma unroll
      for (int c = 0; c < VPL / 4; ++c) {
        const uint32_t w = reinterpret_cast<const uint32_t*>(src)[c];
#pragma unroll
        for (int e = 0; e < 4; ++e) out[4 * c + e] = __fmul_rn(decode[(w >> (8 * e)) & 0xffu], scale);
      }
    } else {
#pragma unroll
      for (int v = 0; v < VPL; ++v) out[v] = __fmul_rn(decode[src[v]], scale);
    }
  }
}

// Shared memory of split_attention_kernel: the tiles first (16-byte aligned), then the floats.
template <int HD, bool Q8>
constexpr size_t split_tile_bytes() { return size_t(2 * 2 * kTile * HD * (Q8 ? 1 : 2)); }  // [buffer][K, V][kTile][row]
template <int HD, bool Q8>
size_t split_smem_bytes(int64_t group) {
  const size_t floats = (Q8 ? 2 * 2 * kTile : 0) + 256 + size_t(group) * HD + size_t(group) * kTile;
  return split_tile_bytes<HD, Q8>() + floats * sizeof(float);
}

// Lanes per key in the score phase: 16 dimensions each where that makes a power-of-two team.
constexpr int score_team(int hd) {
  const int t = hd / 16;
  return hd % 16 == 0 && (t & (t - 1)) == 0 ? t : 8;
}

// GM: the largest group size of this instance (the query slices are held in registers, GM x VS).
template <int HD, bool Q8, int GM>
__global__ void __launch_bounds__(kSplitWarps * 32) split_attention_kernel(const AttentionArgs a, RowInfo rows, const KvArgs kv,
                                                                           KvPlane kp, KvPlane vp, SplitOutput out) {
  constexpr int ROW = HD * (Q8 ? 1 : 2), PIECE = ROW >= 16 ? 16 : 8, PIECES = ROW / PIECE;  // bytes per entry, per copy
  constexpr int TS = score_team(HD), VS = HD / TS, KS = 32 / TS;      // scores: lanes and dimensions per key, keys per warp
  constexpr int TV = HD >= 32 ? 32 : HD, VV = HD / TV, KV = 32 / TV;  // values: the same per position
  extern __shared__ __align__(16) unsigned char smem_bytes[];
  const int G = int(a.heads / kv.kv_heads);
  unsigned char* tiles = smem_bytes;
  float* tile_scales = reinterpret_cast<float*>(tiles + split_tile_bytes<HD, Q8>());  // [buffer][K, V][kTile] (Q8)
  float* decode = tile_scales + (Q8 ? 2 * 2 * kTile : 0);                             // 256
  float* q = decode + 256;                                                            // [G][HD], times 1/sqrt(HD)
  float* scores = q + G * HD;                                                         // [G][kTile]
  float* partial = reinterpret_cast<float*>(tiles);  // after the last tile: [warps][G][HD] (fits: G <= 8)
  __shared__ float head_max[kMaxGroup], head_sum[kMaxGroup], rescale[kMaxGroup];
  const int64_t r = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
  const int64_t pos = rows.pos[r], begin = causal_first(a, pos) + split * out.chunk;
  const int n = int(min(out.chunk, pos + 1 - begin));  // this split's positions
  if (n <= 0) return;  // past the row's end: combine_splits_kernel does not read it
  const int64_t base = (rows.slot[r] * kv.max_positions + begin) * kv.kv_heads + kvh;  // entry of position j: + j * kv_heads
  const auto issue = [&](int t) {  // tile t into buffer t % 2
    const int j0 = t * kTile, count = min(kTile, n - j0), b = t & 1;
    for (int i = threadIdx.x; i < 2 * count * PIECES; i += blockDim.x) {
      const int plane = i / (count * PIECES), j = i / PIECES % count, piece = i % PIECES;
      const auto* src = static_cast<const unsigned char*>((plane ? vp : kp).data) + (base + int64_t{j0 + j} * kv.kv_heads) * ROW;
      unsigned char* dst = tiles + ((b * 2 + plane) * kTile + j) * ROW;
      if constexpr (PIECE == 16) cuda::detail::copy_async16(dst + piece * PIECE, src + piece * PIECE);
      else cuda::detail::copy_async8(dst + piece * PIECE, src + piece * PIECE);
    }
    if constexpr (Q8)
      for (int i = threadIdx.x; i < 2 * count; i += blockDim.x)
        tile_scales[(b * 2 + i / count) * kTile + i % count] = (i / count ? vp : kp).scales[base + int64_t{j0 + i % count} * kv.kv_heads];
    cuda::detail::commit_copies();
  };
  issue(0);
  if constexpr (Q8)
    for (int c = threadIdx.x; c < 256; c += blockDim.x) decode[c] = kv.tables.decode[c];
  const float inv_sqrt = 1.0f / sqrtf(float(HD));
  for (int i = threadIdx.x; i < G * HD; i += blockDim.x) q[i] = a.q[(r * a.heads + kvh * G) * HD + i] * inv_sqrt;
  if (threadIdx.x < G) head_max[threadIdx.x] = -INFINITY, head_sum[threadIdx.x] = 0;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, ds = (lane % TS) * VS, dv = (lane % TV) * VV;
  float acc[GM][VV] = {};
  const int tiles_n = (n + kTile - 1) / kTile;
  float qr[GM][VS] = {};  // this lane's slice of each query head (shared memory reads of q bound the loop)
  for (int t = 0; t < tiles_n; ++t) {
    const int b = t & 1, count = min(kTile, n - t * kTile);
    if (t + 1 < tiles_n) {
      issue(t + 1);
      cuda::detail::wait_copies<1>();
    } else {
      cuda::detail::wait_copies<0>();
    }
    __syncthreads();  // tile t (and the first time q, decode, head_max) visible to every thread
    if (t == 0)
#pragma unroll
      for (int g = 0; g < GM; ++g)
#pragma unroll
        for (int v = 0; v < VS; ++v) qr[g][v] = g < G ? q[g * HD + ds + v] : 0.0f;
    const unsigned char* keys = tiles + (b * 2) * kTile * ROW;
    const unsigned char* values = tiles + (b * 2 + 1) * kTile * ROW;
    const float* key_scales = tile_scales + (b * 2) * kTile;
    const float* value_scales = key_scales + kTile;
    for (int j0 = warp * KS; j0 < count; j0 += kSplitWarps * KS) {
      const int j = j0 + lane / TS;
      float k[VS] = {};
      if (j < count) load_row<VS, Q8>(keys + j * ROW, ds, Q8 ? key_scales[j] : 1.0f, decode, k);
#pragma unroll
      for (int g = 0; g < GM; ++g) {
        if (g >= G) break;
        float dot = 0;
#pragma unroll
        for (int v = 0; v < VS; ++v) dot += qr[g][v] * k[v];
#pragma unroll
        for (int o = TS / 2; o; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
        if (j < count && lane % TS == 0) scores[g * kTile + j] = dot;
      }
    }
    __syncthreads();
    for (int g = warp; g < G; g += kSplitWarps) {  // one warp per query head: the online softmax step
      float m = -INFINITY, sum = 0;
      for (int j = lane; j < count; j += 32) m = fmaxf(m, scores[g * kTile + j]);
      for (int o = 16; o; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
      const float m_new = fmaxf(head_max[g], m);
      for (int j = lane; j < count; j += 32) sum += scores[g * kTile + j] = expf(scores[g * kTile + j] - m_new);
      for (int o = 16; o; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
      __syncwarp();
      if (lane == 0) {
        const float c = expf(head_max[g] - m_new);  // 0 on the first tile (max -inf)
        rescale[g] = c, head_sum[g] = head_sum[g] * c + sum, head_max[g] = m_new;
      }
    }
    __syncthreads();
#pragma unroll
    for (int g = 0; g < GM; ++g)
#pragma unroll
      for (int v = 0; v < VV; ++v) acc[g][v] *= g < G ? rescale[g] : 0.0f;
    for (int j0 = warp * KV; j0 < count; j0 += kSplitWarps * KV) {
      const int j = j0 + lane / TV;
      if (j >= count) continue;
      float val[VV];
      load_row<VV, Q8>(values + j * ROW, dv, Q8 ? value_scales[j] : 1.0f, decode, val);
#pragma unroll
      for (int g = 0; g < GM; ++g) {
        if (g >= G) break;
        const float p = scores[g * kTile + j];
#pragma unroll
        for (int v = 0; v < VV; ++v) acc[g][v] += p * val[v];
      }
    }
    __syncthreads();  // this tile's buffer may be refilled, and scores rewritten
  }
#pragma unroll
  for (int g = 0; g < GM; ++g) {
    if (g >= G) break;
#pragma unroll
    for (int v = 0; v < VV; ++v) {
      for (int o = TV; o < 32; o <<= 1) acc[g][v] += __shfl_xor_sync(0xffffffffu, acc[g][v], o);
      if (lane < TV) partial[(warp * G + g) * HD + dv + v] = acc[g][v];
    }
  }
  __syncthreads();
  for (int i = threadIdx.x; i < G * HD; i += blockDim.x) {
    const int g = i / HD, d = i % HD;
    float total = 0;
    for (int w = 0; w < kSplitWarps; ++w) total += partial[(w * G + g) * HD + d];
    out.o[((r * a.heads + kvh * G + g) * out.splits + split) * HD + d] = total;
  }
  if (threadIdx.x < G)
    out.ml[(r * a.heads + kvh * G + threadIdx.x) * out.splits + split] = make_float2(head_max[threadIdx.x], head_sum[threadIdx.x]);
}

// Block (row, query head): the splits' outputs weighted by exp(their maximum - the overall maximum).
__global__ void combine_splits_kernel(const AttentionArgs a, RowInfo rows, int64_t head_dim, SplitOutput in) {
  const int64_t r = blockIdx.x, h = blockIdx.y, pos = rows.pos[r];
  const int64_t splits = (pos + 1 - causal_first(a, pos) + in.chunk - 1) / in.chunk;
  const float2* ml = in.ml + (r * a.heads + h) * in.splits;
  float m = -INFINITY, sum = 0;
  for (int64_t s = 0; s < splits; ++s) m = fmaxf(m, ml[s].x);
  for (int64_t s = 0; s < splits; ++s) sum += expf(ml[s].x - m) * ml[s].y;
  const float* o = in.o + (r * a.heads + h) * in.splits * head_dim;
  for (int64_t d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float total = 0;
    for (int64_t s = 0; s < splits; ++s) total += expf(ml[s].x - m) * o[s * head_dim + d];
    a.ctx[(r * a.heads + h) * head_dim + d] = to_bf16(total / sum);
  }
}

// Block per score row (head, r): the query at position start + r sees keys first .. start + r.
__global__ void causal_softmax_kernel(const float* scores, uint16_t* probs, int rows, int64_t keys, int64_t start,
                                      int64_t window, float scale) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x, pos = start + row % rows;
  const int64_t first = window > 0 ? max(int64_t{0}, pos - window + 1) : 0;
  const float* s = scores + row * keys;
  uint16_t* p = probs + row * keys;
  float m = -INFINITY;
  for (int64_t j = first + threadIdx.x; j <= pos; j += blockDim.x) m = fmaxf(m, s[j] * scale);
  m = block_reduce<true>(m, scratch);
  float sum = 0;
  for (int64_t j = first + threadIdx.x; j <= pos; j += blockDim.x) sum += expf(s[j] * scale - m);
  sum = block_reduce<false>(sum, scratch);
  for (int64_t j = threadIdx.x; j < keys; j += blockDim.x)
    p[j] = j >= first && j <= pos ? to_bf16(expf(s[j] * scale - m) / sum) : uint16_t{0};
}

__global__ void dequantize_kv_kernel(const KvArgs kv, KvPlane plane, int64_t slot, int64_t positions, uint16_t* out) {
  __shared__ float decode[256];
  for (int c = threadIdx.x; c < 256; c += blockDim.x) decode[c] = kv.tables.decode[c];
  __syncthreads();
  const int64_t count = positions * kv.kv_heads * kv.head_dim, base = slot * kv.max_positions * kv.kv_heads;
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < count; i += int64_t{gridDim.x} * blockDim.x)
    out[i] = to_bf16(kv_value(kv, plane, decode, base + i / kv.head_dim, i % kv.head_dim));
}

__global__ void heads_to_rows_kernel(const float* o, uint16_t* ctx, int64_t heads, int rows, int64_t head_dim) {
  const int64_t count = heads * rows * head_dim;
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < count; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t d = i % head_dim, r = (i / head_dim) % rows, h = i / (head_dim * rows);
    ctx[(r * heads + h) * head_dim + d] = to_bf16(o[i]);
  }
}

// SplitMix64 of (seed, index): a uniform in (0, 1).
__device__ float uniform01(uint64_t seed, uint64_t index) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return (float(z >> 40) + 0.5f) * (1.0f / 16777216.0f);
}

// Floats as unsigned keys in the same order (NaN excluded): what the thresholds below search over.
__device__ __forceinline__ uint32_t order_key(float v) {
  const uint32_t b = __float_as_uint(v);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

// The sampler runs a cluster of kSampleBlocks blocks per row (Hopper thread-block clusters), each
// over its slice of the vocabulary; the blocks combine what they found through distributed shared
// memory, each reading every block's value in rank order, so all take the same decisions. One block
// per row read the 128k-entry row about 20 times on one SM (0.35-0.6 ms a step at batch 1).
constexpr int kSampleBlocks = 8;
constexpr int kSampleThreads = 1024;

// Sum over the cluster of each block's value (the same on every thread of every block).
template <class T>
__device__ T cluster_sum(const cg::cluster_group& cluster, T block_value, T* slot) {
  if (threadIdx.x == 0) *slot = block_value;
  cluster.sync();
  T total = 0;
  for (unsigned k = 0; k < cluster.num_blocks(); ++k) total += *cluster.map_shared_rank(slot, k);
  cluster.sync();  // the slot may be rewritten
  return total;
}

// The largest score in the row (first index on ties) and its index; score(i, v) ranks, -INFINITY drops.
template <class Score>
__device__ int64_t cluster_argmax(const cg::cluster_group& cluster, const float* row, int64_t begin, int64_t end,
                                  Score score, float* best_value, int64_t* best_index) {
  float bv = -INFINITY;
  int64_t bi = INT64_MAX;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    const float v = score(i, row[i]);
    if (v > bv || (v == bv && i < bi)) bv = v, bi = i;
  }
  for (int o = 16; o; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
    const int64_t oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (ov > bv || (ov == bv && oi < bi)) bv = ov, bi = oi;
  }
  if ((threadIdx.x & 31) == 0) best_value[threadIdx.x >> 5] = bv, best_index[threadIdx.x >> 5] = bi;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < int(blockDim.x >> 5); ++w)
      if (best_value[w] > bv || (best_value[w] == bv && best_index[w] < bi)) bv = best_value[w], bi = best_index[w];
    best_value[0] = bv, best_index[0] = bi;  // the block's best, for its peers
  }
  cluster.sync();
  bv = -INFINITY, bi = INT64_MAX;
  for (unsigned k = 0; k < cluster.num_blocks(); ++k) {
    const float v = *cluster.map_shared_rank(best_value, k);
    const int64_t i = *cluster.map_shared_rank(best_index, k);
    if (v > bv || (v == bv && i < bi)) bv = v, bi = i;
  }
  cluster.sync();
  return bi;
}

// The largest key t in [lo, hi] with measure(keys >= t) >= need, given that it holds at lo (measure:
// the sum of weight(v, key) over the row's elements, non-negative, so it falls as t grows). Each pass
// splits the range into 16 parts of 2^shift keys and measures all 16 boundaries at once: a 16-bin
// histogram per thread, reduced in a fixed order (the same result every time) over the block and then
// the cluster, then suffix sums. A binary search took a pass per bit (~64 passes for top-k plus top-p);
// this takes 8 per threshold. `partials` holds [warps][16] values, `block_bins` 16.
template <class T, class Weight>
__device__ uint32_t largest_key_where(const cg::cluster_group& cluster, const float* row, int64_t begin, int64_t end,
                                      uint32_t lo, uint32_t hi, T need, Weight weight, T* partials, T* block_bins) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = int(blockDim.x >> 5);
  while (lo < hi) {
    int shift = 0;
    while ((uint64_t(hi - lo) >> shift) >= 16) ++shift;  // 16 parts of 2^shift keys cover [lo, hi]
    T bins[16] = {};
    for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
      const uint32_t key = order_key(row[i]);
      if (key < lo) continue;
      const uint32_t b = min(15u, (key - lo) >> shift);  // keys above hi (counted in every suffix) go to 15
      const T w = weight(row[i], key);
#pragma unroll
      for (uint32_t c = 0; c < 16; ++c) bins[c] += c == b ? w : T(0);
    }
#pragma unroll
    for (int c = 0; c < 16; ++c) {
      for (int o = 16; o; o >>= 1) bins[c] += __shfl_xor_sync(0xffffffffu, bins[c], o);
      if (lane == 0) partials[warp * 16 + c] = bins[c];
    }
    __syncthreads();
    if (threadIdx.x < 16) {
      T bin = 0;
      for (int w = 0; w < warps; ++w) bin += partials[w * 16 + threadIdx.x];
      block_bins[threadIdx.x] = bin;
    }
    cluster.sync();
    T above = 0;  // measure of the bins above c
    int pick = 0;
    for (int c = 15; c >= 0; --c) {
      T bin = 0;
      for (unsigned k = 0; k < cluster.num_blocks(); ++k) bin += cluster.map_shared_rank(block_bins, k)[c];
      if ((above += bin) >= need) {
        pick = c;
        break;
      }
    }
    cluster.sync();  // partials and block_bins are rewritten by the next pass
    const uint32_t next = uint32_t(lo + (uint64_t(pick) << shift));
    hi = uint32_t(min(uint64_t(hi), uint64_t(next) + (uint64_t(1) << shift) - 1));
    lo = next;
  }
  return lo;
}

// One cluster per row. Greedy (temperature 0, or so small that 1/T overflows, or an infinite logit):
// the argmax. Else the candidates are cut to the top-k logits (all of a tie at the cut stay), then to
// the nucleus: the largest logit threshold whose candidates hold top_p of the candidates' softmax mass
// (the CPU sampler's smallest sorted prefix reaching top_p, as a set); a Gumbel-max draw
// (l / T - log(-log u)) among them samples softmax(l / T) restricted to them. The thresholds are found
// by a 16-way search over the logits' keys, each step one pass over the row; every sum has a fixed
// order, so the same row and seed give the same token.
__global__ void __cluster_dims__(kSampleBlocks, 1, 1) __launch_bounds__(kSampleThreads)
    sample_kernel(const float* logits, int64_t vocab, const SampleParams* params, int32_t* out) {
  __shared__ float best_value[32];
  __shared__ int64_t best_index[32];
  __shared__ float mass_bins[32 * 16], block_mass[16], block_total;
  __shared__ int count_bins[32 * 16], block_counts[16], block_nan;
  const cg::cluster_group cluster = cg::this_cluster();
  const int64_t r = blockIdx.x / kSampleBlocks, slice = (vocab + kSampleBlocks - 1) / kSampleBlocks;
  const int64_t begin = min(vocab, int64_t{cluster.block_rank()} * slice), end = min(vocab, begin + slice);
  const bool leader = cluster.block_rank() == 0 && threadIdx.x == 0;
  const SampleParams p = params[r];
  const float* row = logits + r * vocab;
  bool nan = false;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) nan |= row[i] != row[i];
  if (cluster_sum(cluster, int(__syncthreads_or(nan)), &block_nan)) {
    if (leader) out[r] = -1;  // NaN logits (GpuModel::decode_sample throws)
    return;
  }
  const int64_t top = cluster_argmax(cluster, row, begin, end, [](int64_t, float v) { return v; }, best_value, best_index);
  const float maxv = row[top], inv_t = 1.0f / p.temperature;
  if (!(p.temperature > 0) || isinf(inv_t) || isinf(maxv)) {
    if (leader) out[r] = int32_t(top);
    return;
  }
  const uint32_t hi = order_key(maxv);
  uint32_t cut = 0;  // the candidates: logits whose key is >= cut
  if (p.top_k > 0 && p.top_k < vocab)
    cut = largest_key_where(cluster, row, begin, end, 0, hi, int(p.top_k), [](float, uint32_t) { return 1; }, count_bins,
                            block_counts);
  if (p.top_p < 1) {
    const auto weight = [&](float v, uint32_t key) { return key >= cut ? __expf((v - maxv) * inv_t) : 0.0f; };
    float total = 0;  // the candidates' mass
    for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) total += weight(row[i], order_key(row[i]));
    total = cluster_sum(cluster, block_reduce<false>(total, best_value), &block_total);
    cut = largest_key_where(cluster, row, begin, end, cut, hi, p.top_p * total, weight, mass_bins, block_mass);
  }
  const int64_t pick = cluster_argmax(cluster, row, begin, end, [&](int64_t i, float v) {
    return order_key(v) >= cut ? v * inv_t - logf(-logf(uniform01(p.seed, uint64_t(i)))) : -INFINITY;
  }, best_value, best_index);
  if (leader) out[r] = int32_t(pick);
}

// One thread per row: softmax over the router logits (or, softmax_after_top_k, over the chosen
// ones), the top k (ties to the lower expert, as the CPU engine's partial sort), renormalized when asked.
__global__ void route_kernel(const float* logits, int rows, int experts, int k, bool softmax_after_top_k,
                             bool normalize, int32_t* ids, float* weights) {
  const int r = int(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  const float* p = logits + int64_t{r} * experts;
  float maxv = -INFINITY, sum = 0;
  for (int e = 0; e < experts; ++e) maxv = fmaxf(maxv, p[e]);
  for (int e = 0; e < experts; ++e) sum += expf(p[e] - maxv);
  int32_t* id = ids + int64_t{r} * k;
  float* w = weights + int64_t{r} * k;
  float chosen = 0;
  for (int j = 0; j < k; ++j) {
    int best = -1;
    for (int e = 0; e < experts; ++e) {
      bool taken = false;
      for (int i = 0; i < j; ++i) taken |= id[i] == e;
      if (!taken && (best < 0 || p[e] > p[best])) best = e;
    }
    id[j] = best;
    w[j] = softmax_after_top_k ? p[best] : expf(p[best] - maxv) / sum;
    chosen += w[j];
  }
  if (softmax_after_top_k) {  // softmax over the chosen logits (the first is the largest)
    float total = 0;
    for (int j = 0; j < k; ++j) total += w[j] = expf(w[j] - p[id[0]]);
    for (int j = 0; j < k; ++j) w[j] /= total;
  } else if (normalize) {
    for (int j = 0; j < k; ++j) w[j] /= chosen;
  }
}

__global__ void gather_rows_kernel(const uint16_t* x, const int32_t* source, int64_t cols, int64_t count,
                                   uint16_t* out) {
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < count * cols; i += int64_t{gridDim.x} * blockDim.x)
    out[i] = x[int64_t{source[i / cols]} * cols + i % cols];
}

__global__ void combine_experts_kernel(const float* y, const int32_t* entry, const float* weights, int k, int64_t cols,
                                       int64_t count, float* out) {
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < count * cols; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t r = i / cols, c = i % cols;
    float acc = 0;
    for (int j = 0; j < k; ++j) acc += weights[r * k + j] * y[int64_t{entry[r * k + j]} * cols + c];
    out[i] = acc;
  }
}

// One block per row: the argmax (ties to the lowest index), then log-sum-exp around the maximum; with
// reference logits also their log-sum-exp and KL(reference || row).
__global__ void __launch_bounds__(1024) score_kernel(const float* logits, int64_t vocab, const int32_t* targets,
                                                     const float* reference, RowScore* out) {
  __shared__ float best_value[32], scratch[32];
  __shared__ int64_t best_index[32];
  const int64_t r = blockIdx.x;
  const int32_t target = targets[r];
  if (target < 0) return;
  const float* row = logits + r * vocab;
  float bv = -INFINITY;
  int64_t bi = vocab;
  for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x)
    if (row[i] > bv) bv = row[i], bi = i;
  for (int o = 16; o; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
    const int64_t oi = __shfl_xor_sync(0xffffffffu, bi, o);
    if (ov > bv || (ov == bv && oi < bi)) bv = ov, bi = oi;
  }
  const int warp = int(threadIdx.x >> 5), warps = int(blockDim.x >> 5);
  if ((threadIdx.x & 31) == 0) best_value[warp] = bv, best_index[warp] = bi;
  __syncthreads();
  bv = best_value[0], bi = best_index[0];
  for (int w = 1; w < warps; ++w)
    if (best_value[w] > bv || (best_value[w] == bv && best_index[w] < bi)) bv = best_value[w], bi = best_index[w];
  float sum = 0;
  for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) sum += expf(row[i] - bv);
  const float lse = bv + logf(block_reduce<false>(sum, scratch));
  float kl = 0;
  if (reference) {
    const float* ref = reference + r * vocab;
    float rmax = -INFINITY;
    for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) rmax = fmaxf(rmax, ref[i]);
    rmax = block_reduce<true>(rmax, scratch);
    float rsum = 0;
    for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) rsum += expf(ref[i] - rmax);
    const float ref_lse = rmax + logf(block_reduce<false>(rsum, scratch));
    float part = 0;
    for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
      const float lr = ref[i] - ref_lse;
      part += expf(lr) * (lr - (row[i] - lse));
    }
    kl = block_reduce<false>(part, scratch);
  }
  if (threadIdx.x == 0) out[r] = {row[target] - lse, int32_t(bi), kl};
}

}  // namespace

void embed(const int32_t* tokens, int rows, const void* table, kernel::DType dtype, int64_t hidden, float* h,
           cudaStream_t s) {
  embed_kernel<<<rows, kThreads, 0, s>>>(tokens, table, dtype, hidden, h);
  cuda::check_launch("embed_kernel");
}

void residual_rms_norm(float* h, const float* delta, const float* w, int rows, int64_t n, double eps, uint16_t* out,
                       cudaStream_t s) {
  residual_rms_norm_kernel<<<rows, kNormThreads, 0, s>>>(h, delta, w, n, float(eps), out);
  cuda::check_launch("residual_rms_norm_kernel");
}

void add_bias(float* y, const float* bias, int rows, int64_t cols, cudaStream_t s) {
  add_bias_kernel<<<blocks_for(rows * cols), kThreads, 0, s>>>(y, bias, cols, rows * cols);
  cuda::check_launch("add_bias_kernel");
}

void silu_mul(const float* gate_up, int rows, int64_t inter, uint16_t* out, cudaStream_t s) {
  silu_mul_kernel<<<blocks_for(rows * inter), kThreads, 0, s>>>(gate_up, inter, out, rows * inter);
  cuda::check_launch("silu_mul_kernel");
}

void rope_and_store(const RopeArgs& a, RowInfo rows, const KvLayout& kv, KvPlane k_plane, KvPlane v_plane,
                    cudaStream_t s) {
  const dim3 grid(unsigned(a.rows), unsigned(a.heads + a.kv_heads));
  rope_store_kernel<<<grid, unsigned(std::max<int64_t>(32, a.head_dim / 2)), 0, s>>>(a, rows, kv_args(kv), k_plane, v_plane);
  cuda::check_launch("rope_store_kernel");
}

namespace {

// Splits of the positions for `blocks` (row, KV head) pairs when `resident` blocks fit on the GPU at
// once: at least one full wave, and among up to four times that many splits the one whose last wave
// is fullest (a wave 45 % full cost a quarter of the time at batch 16), each split at least a tile.
// It depends on the batch size only, not on the rows' lengths, so captured decode graphs stay valid.
SplitOutput split_positions(const AttentionArgs& a, const KvLayout& kv, int64_t resident) {
  const int64_t blocks = int64_t{a.rows} * kv.kv_heads, most = std::min(kMaxSplits, (kv.max_positions + kTile - 1) / kTile);
  const int64_t least = std::clamp<int64_t>((resident + blocks - 1) / blocks, 1, most);
  int64_t splits = least;
  double best = 0;
  for (int64_t n = least; n <= std::min(most, 4 * least); ++n) {
    const double waves = double(blocks * n) / double(resident), fill = waves / std::ceil(waves);
    if (fill > best + 1e-9) best = fill, splits = n;
  }
  const int64_t chunk = ((kv.max_positions + splits - 1) / splits + kTile - 1) / kTile * kTile;
  return {a.split.o, a.split.ml, chunk, (kv.max_positions + chunk - 1) / chunk};
}

template <int HD, bool Q8, int GM>
void split_attention(const AttentionArgs& a, RowInfo rows, const KvLayout& kv, KvPlane k_plane, KvPlane v_plane,
                     cudaStream_t s) {
  const size_t smem = split_smem_bytes<HD, Q8>(a.heads / kv.kv_heads);
  static size_t configured = 0;  // the dynamic shared memory limit raised so far, per instance
  static int per_sm = 0;         // resident blocks per SM at that limit
  if (smem > configured) {
    cuda::check(cudaFuncSetAttribute(split_attention_kernel<HD, Q8, GM>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)),
                "cudaFuncSetAttribute(split_attention_kernel)");
    cuda::check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, split_attention_kernel<HD, Q8, GM>, kSplitWarps * 32, smem),
                "cudaOccupancyMaxActiveBlocksPerMultiprocessor(split_attention_kernel)");
    configured = smem;
  }
  const SplitOutput out = split_positions(a, kv, int64_t{std::max(per_sm, 1)} * cuda::sm_count());
  const dim3 grid(unsigned(a.rows), unsigned(kv.kv_heads), unsigned(out.splits));
  split_attention_kernel<HD, Q8, GM><<<grid, kSplitWarps * 32, smem, s>>>(a, rows, kv_args(kv), k_plane, v_plane, out);
  cuda::check_launch("split_attention_kernel");
  combine_splits_kernel<<<dim3(unsigned(a.rows), unsigned(a.heads)), unsigned(std::min(HD, 256)), 0, s>>>(a, rows, HD, out);
  cuda::check_launch("combine_splits_kernel");
}

// The instance for the group size (query heads per KV head: 2, 4 or kMaxGroup held in registers).
template <int HD, bool Q8>
void split_attention(const AttentionArgs& a, RowInfo rows, const KvLayout& kv, KvPlane k_plane, KvPlane v_plane,
                     cudaStream_t s) {
  const int64_t group = a.heads / kv.kv_heads;
  if (group <= 2) return split_attention<HD, Q8, 2>(a, rows, kv, k_plane, v_plane, s);
  if (group <= 4) return split_attention<HD, Q8, 4>(a, rows, kv, k_plane, v_plane, s);
  split_attention<HD, Q8, kMaxGroup>(a, rows, kv, k_plane, v_plane, s);
}

template <int HD>
void split_attention(const AttentionArgs& a, RowInfo rows, const KvLayout& kv, KvPlane k_plane, KvPlane v_plane,
                     cudaStream_t s) {
  if (kv.format) split_attention<HD, true>(a, rows, kv, k_plane, v_plane, s);
  else split_attention<HD, false>(a, rows, kv, k_plane, v_plane, s);
}

// The instance for the head size runs; false where there is none.
bool split_attention_any(const AttentionArgs& a, RowInfo rows, const KvLayout& kv, KvPlane k_plane, KvPlane v_plane,
                         cudaStream_t s) {
  switch (kv.head_dim) {
    case 8: split_attention<8>(a, rows, kv, k_plane, v_plane, s); return true;
    case 16: split_attention<16>(a, rows, kv, k_plane, v_plane, s); return true;
    case 32: split_attention<32>(a, rows, kv, k_plane, v_plane, s); return true;
    case 64: split_attention<64>(a, rows, kv, k_plane, v_plane, s); return true;
    case 96: split_attention<96>(a, rows, kv, k_plane, v_plane, s); return true;
    case 128: split_attention<128>(a, rows, kv, k_plane, v_plane, s); return true;
    case 256: split_attention<256>(a, rows, kv, k_plane, v_plane, s); return true;
    default: return false;
  }
}

}  // namespace

void attention(const AttentionArgs& a, RowInfo rows, const KvLayout& kv, KvPlane k_plane, KvPlane v_plane,
               cudaStream_t s) {
  if (a.split.o && a.rows <= a.split.rows && a.heads % kv.kv_heads == 0 && a.heads / kv.kv_heads <= kMaxGroup &&
      split_attention_any(a, rows, kv, k_plane, v_plane, s))
    return;
  // Groups of head_dim threads share the values' positions: as many as fill the GPU with about 2048
  // threads per SM over rows x heads blocks (batch 1 of 32 heads: 1024 threads; batch 16: 512). With
  // 1024 threads at batch 16, decoding ran 10 % slower than with 128 (H200, 2026-12-01).
  const int64_t blocks = a.rows * a.heads, wanted = int64_t{cuda::sm_count()} * 2048 / std::max<int64_t>(1, blocks);
  const int64_t groups = std::clamp<int64_t>(wanted / kv.head_dim, 1, std::max<int64_t>(1, 1024 / kv.head_dim));
  const int threads = int(std::max<int64_t>(groups * kv.head_dim, 32));
  const size_t smem = size_t(kv.head_dim + 256 + threads + kv.max_positions) * sizeof(float);
  static size_t configured = 0;  // the dynamic shared memory limit raised so far
  if (smem > configured) {
    cuda::check(cudaFuncSetAttribute(attention_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)),
                "cudaFuncSetAttribute(attention_kernel)");
    configured = smem;
  }
  const dim3 grid(unsigned(a.rows), unsigned(a.heads));
  attention_kernel<<<grid, unsigned(threads), smem, s>>>(a, rows, kv_args(kv), k_plane, v_plane);
  cuda::check_launch("attention_kernel");
}

void causal_softmax(const float* scores, uint16_t* probs, int64_t heads, int rows, int64_t keys, int64_t start,
                    int64_t window, int64_t head_dim, cudaStream_t s) {
  causal_softmax_kernel<<<unsigned(heads * rows), kThreads, 0, s>>>(scores, probs, rows, keys, start, window,
                                                                     1.0f / sqrtf(float(head_dim)));
  cuda::check_launch("causal_softmax_kernel");
}

void dequantize_kv(const KvLayout& kv, KvPlane plane, int64_t slot, int64_t positions, uint16_t* out, cudaStream_t s) {
  dequantize_kv_kernel<<<blocks_for(positions * kv.kv_heads * kv.head_dim), kThreads, 0, s>>>(kv_args(kv), plane, slot,
                                                                                             positions, out);
  cuda::check_launch("dequantize_kv_kernel");
}

void heads_to_rows(const float* o, uint16_t* ctx, int64_t heads, int rows, int64_t head_dim, cudaStream_t s) {
  heads_to_rows_kernel<<<blocks_for(heads * rows * head_dim), kThreads, 0, s>>>(o, ctx, heads, rows, head_dim);
  cuda::check_launch("heads_to_rows_kernel");
}

void sample(const float* logits, int rows, int64_t vocab, const SampleParams* params, int32_t* out,
            cudaStream_t s) {
  sample_kernel<<<unsigned(rows) * kSampleBlocks, kSampleThreads, 0, s>>>(logits, vocab, params, out);
  cuda::check_launch("sample_kernel");
}

void score(const float* logits, int rows, int64_t vocab, const int32_t* targets, const float* reference, RowScore* out,
           cudaStream_t s) {
  score_kernel<<<rows, 1024, 0, s>>>(logits, vocab, targets, reference, out);
  cuda::check_launch("score_kernel");
}

void route(const float* logits, int rows, int experts, int k, bool softmax_after_top_k, bool normalize, int32_t* ids,
           float* weights, cudaStream_t s) {
  route_kernel<<<unsigned((rows + 127) / 128), 128, 0, s>>>(logits, rows, experts, k, softmax_after_top_k, normalize, ids,
                                                            weights);
  cuda::check_launch("route_kernel");
}

void gather_rows(const uint16_t* x, const int32_t* source, int64_t count, int64_t cols, uint16_t* out, cudaStream_t s) {
  gather_rows_kernel<<<blocks_for(count * cols), kThreads, 0, s>>>(x, source, cols, count, out);
  cuda::check_launch("gather_rows_kernel");
}

void combine_experts(const float* y, const int32_t* entry, const float* weights, int rows, int k, int64_t cols,
                     float* out, cudaStream_t s) {
  combine_experts_kernel<<<blocks_for(int64_t{rows} * cols), kThreads, 0, s>>>(y, entry, weights, k, cols, rows, out);
  cuda::check_launch("combine_experts_kernel");
}

}  // namespace hifp8::model::gpu
