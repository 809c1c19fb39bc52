// Flash-style causal attention over a prompt (FlashAttention-2's schedule on mma.sync): a block owns
// 64 query rows of one head (4 warps x 16 rows, the queries held as mma A fragments in registers) and
// walks the key tiles of 64 positions its rows can see. Each tile's keys and values are copied into
// shared memory with cp.async, double-buffered (the next tile loads while this one is used);
// S = Q K^T comes from mma.m16n8k16 (bf16 in, float32 accumulators), the running row maximum and sum
// are updated (online softmax), P is rounded to bf16 in registers and becomes the A operand of O += P V
// (the values read with ldmatrix.trans). No score matrix reaches memory.
#include <cuda_runtime.h>

#include <cmath>
#include <string>

#include "hifp8/error.h"
#include "hifp8/kernel/cuda.h"
#include "hifp8/kernel/cuda_attention.h"
#include "cp_async.cuh"
#include "launch.h"

namespace hifp8::cuda {
namespace {

using detail::commit_copies;
using detail::copy_async16;
using detail::wait_copies;

constexpr int kQueryRows = 64;  // per block: 4 warps x 16 rows
constexpr int kKeys = 64;       // per key tile
constexpr int kThreads = 128;

// Shared-memory row pitch in elements: 16 bytes more than a row, so the 8 rows an mma fragment or an
// ldmatrix touches start in different banks.
template <int HD>
constexpr int pitch() {
  return HD + 8;
}
template <int HD>
constexpr size_t shared_bytes() {
  return size_t(2) * 2 * kKeys * pitch<HD>() * 2;  // 2 stages x (keys, values) x 64 rows, bf16
}

__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  uint32_t r;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
  return r;
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(uint32_t(__cvta_generic_to_shared(row))));
}


template <int HD>
__global__ void __launch_bounds__(kThreads) flash_attention_kernel(const FlashAttentionArgs a) {
  extern __shared__ uint16_t smem[];
  constexpr int P = pitch<HD>(), kSteps = HD / 16, kDimTiles = HD / 8, kChunks = HD / 8;  // 16-byte pieces a row
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int64_t h = blockIdx.y, kvh = h / (a.heads / a.kv_heads);
  const int q0 = int(blockIdx.x) * kQueryRows + warp * 16;  // this warp's first row
  const int64_t keys = a.start + a.rows;
  const int64_t row_stride = a.kv_heads * HD;  // elements from one position to the next in k and v

  // The warp's 16 query rows as A fragments: step s covers dimensions 16 s .. 16 s + 15.
  uint32_t qa[kSteps][4];
  {
    const uint16_t* q = a.q + h * a.rows * HD;
    const auto word = [&](int r, int d) {
      return r < a.rows ? *reinterpret_cast<const uint32_t*>(q + int64_t{r} * HD + d) : 0u;
    };
#pragma unroll
    for (int s = 0; s < kSteps; ++s) {
      qa[s][0] = word(q0 + g, 16 * s + 2 * t);
      qa[s][1] = word(q0 + g + 8, 16 * s + 2 * t);
      qa[s][2] = word(q0 + g, 16 * s + 2 * t + 8);
      qa[s][3] = word(q0 + g + 8, 16 * s + 2 * t + 8);
    }
  }

  // Key tiles this block needs: from the window's first key of its first row to its last row's position.
  const int block_q0 = int(blockIdx.x) * kQueryRows;
  const int64_t last_key = a.start + min(block_q0 + kQueryRows, a.rows) - 1;
  const int64_t first_key = a.window > 0 ? max(int64_t{0}, a.start + block_q0 - a.window + 1) : 0;
  const int64_t tile_first = first_key / kKeys, tile_last = last_key / kKeys;

  const auto load_tile = [&](int64_t tile, int stage) {
    uint16_t* ks = smem + stage * 2 * kKeys * P;
    uint16_t* vs = ks + kKeys * P;
    for (int c = threadIdx.x; c < kKeys * kChunks; c += kThreads) {
      const int row = c / kChunks, piece = c % kChunks;
      const int64_t pos = tile * kKeys + row;
      uint16_t* kd = ks + row * P + piece * 8;
      uint16_t* vd = vs + row * P + piece * 8;
      if (pos < keys) {
        const int64_t at = pos * row_stride + kvh * HD + piece * 8;
        copy_async16(kd, a.k + at);
        copy_async16(vd, a.v + at);
      } else {  // past the last key: zeros (a masked key's probability 0 times a zero value)
        *reinterpret_cast<uint4*>(kd) = make_uint4(0, 0, 0, 0);
        *reinterpret_cast<uint4*>(vd) = make_uint4(0, 0, 0, 0);
      }
    }
    commit_copies();
  };

  // Rows g and g + 8 of the warp: running maximum (of scores in log2 units), sum, and output.
  const float scale = 1.4426950408889634f / sqrtf(float(HD));  // log2(e) / sqrt(head_dim)
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0, 0};
  float o[kDimTiles][4] = {};
  const int64_t qpos[2] = {a.start + q0 + g, a.start + q0 + g + 8};

  load_tile(tile_first, 0);
  for (int64_t tile = tile_first; tile <= tile_last; ++tile) {
    const int stage = int((tile - tile_first) & 1);
    if (tile < tile_last) {
      load_tile(tile + 1, stage ^ 1);
      wait_copies<1>();
    } else {
      wait_copies<0>();
    }
    __syncthreads();
    const uint16_t* ks = smem + stage * 2 * kKeys * P;
    const uint16_t* vs = ks + kKeys * P;

    // S = Q K^T for 8 groups of 8 keys; B fragment (dims 2t, 2t + 1 and 2t + 8, 2t + 9 of key g).
    float s[8][4];
#pragma unroll
    for (int n = 0; n < 8; ++n) {
      s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.0f;
      const uint16_t* key = ks + (n * 8 + g) * P + 2 * t;
#pragma unroll
      for (int st = 0; st < kSteps; ++st)
        mma(s[n], qa[st], *reinterpret_cast<const uint32_t*>(key + 16 * st),
            *reinterpret_cast<const uint32_t*>(key + 16 * st + 8));
    }
    // Mask (causal, window, past the end), scale, and the tile's row maxima over the quad.
    float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int n = 0; n < 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = e >> 1;
        const int64_t kpos = tile * kKeys + n * 8 + 2 * t + (e & 1);
        const bool visible = kpos <= qpos[r] && (a.window <= 0 || kpos > qpos[r] - a.window);
        s[n][e] = visible ? s[n][e] * scale : -INFINITY;
        tile_max[r] = fmaxf(tile_max[r], s[n][e]);
      }
    float alpha[2], m_use[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 1));
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 2));
      const float m_new = fmaxf(m[r], tile_max[r]);
      m_use[r] = m_new == -INFINITY ? 0.0f : m_new;  // a row with nothing visible yet: exp2(-inf) = 0
      alpha[r] = exp2f(m[r] - m_use[r]);
      m[r] = m_new;
      l[r] *= alpha[r];
    }
#pragma unroll
    for (int d = 0; d < kDimTiles; ++d) o[d][0] *= alpha[0], o[d][1] *= alpha[0], o[d][2] *= alpha[1], o[d][3] *= alpha[1];
    // P = exp2(S - m) as bf16 A fragments: k step kk covers keys 16 kk .. 16 kk + 15 (score groups 2 kk, 2 kk + 1).
    uint32_t pa[4][4];
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
      float p[2][4];
#pragma unroll
      for (int half = 0; half < 2; ++half)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          p[half][e] = exp2f(s[2 * kk + half][e] - m_use[e >> 1]);
          l[e >> 1] += p[half][e];
        }
      pa[kk][0] = pack_bf16(p[0][0], p[0][1]);
      pa[kk][1] = pack_bf16(p[0][2], p[0][3]);
      pa[kk][2] = pack_bf16(p[1][0], p[1][1]);
      pa[kk][3] = pack_bf16(p[1][2], p[1][3]);
    }
    // O += P V: ldmatrix.trans gives the B fragments of two 8-dimension tiles at once.
#pragma unroll
    for (int kk = 0; kk < 4; ++kk)
#pragma unroll
      for (int d = 0; d < kDimTiles; d += 2) {
        uint32_t b[4];
        ldmatrix_x4_trans(b, vs + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * P + (d + (lane >> 4)) * 8);
        mma(o[d], pa[kk], b[0], b[1]);
        mma(o[d + 1], pa[kk], b[2], b[3]);
      }
    __syncthreads();  // the stage is free for the tile after next
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = q0 + g + 8 * r;
    if (row >= a.rows) continue;
    const float inv = 1.0f / l[r];
    uint16_t* out = a.out + (int64_t{row} * a.heads + h) * HD + 2 * t;
#pragma unroll
    for (int d = 0; d < kDimTiles; ++d)
      *reinterpret_cast<uint32_t*>(out + d * 8) = pack_bf16(o[d][2 * r] * inv, o[d][2 * r + 1] * inv);
  }
}

template <int HD>
void launch(const FlashAttentionArgs& a, cudaStream_t s) {
  constexpr size_t bytes = shared_bytes<HD>();
  static const bool configured = [] {  // above 48 KB of dynamic shared memory needs the opt-in
    check(cudaFuncSetAttribute(flash_attention_kernel<HD>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)),
          "cudaFuncSetAttribute(flash_attention_kernel)");
    return true;
  }();
  (void)configured;
  const dim3 grid(unsigned((a.rows + kQueryRows - 1) / kQueryRows), unsigned(a.heads));
  flash_attention_kernel<HD><<<grid, kThreads, bytes, s>>>(a);
  check_launch("flash_attention_kernel");
}

}  // namespace

bool flash_attention_supported(int64_t head_dim) { return head_dim > 0 && head_dim % 16 == 0 && head_dim <= 128; }

void flash_attention(const FlashAttentionArgs& a, void* stream) {
  if (!flash_attention_supported(a.head_dim))
    throw Error("flash_attention: head_dim " + std::to_string(a.head_dim) + " (needs a multiple of 16 up to 128)");
  if (a.kv_heads <= 0 || a.heads % a.kv_heads != 0) throw Error("flash_attention: heads must be a multiple of kv_heads");
  if (a.rows <= 0) return;
  const auto s = static_cast<cudaStream_t>(stream);
  switch (a.head_dim / 16) {
    case 1: launch<16>(a, s); break;
    case 2: launch<32>(a, s); break;
    case 3: launch<48>(a, s); break;
    case 4: launch<64>(a, s); break;
    case 5: launch<80>(a, s); break;
    case 6: launch<96>(a, s); break;
    case 7: launch<112>(a, s); break;
    default: launch<128>(a, s); break;
  }
}

}  // namespace hifp8::cuda
