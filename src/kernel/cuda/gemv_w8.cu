// W8A16 matrix product for decoding: y[m, n] = x[m, k] . dequant(W)[n, k]^T for m <= 16 per pass.
//
// A thread block owns 16 weight rows; its 8 (or 16) warps split the reduction dimension in 64-byte chunks.
// Per chunk, each thread copies 16 weight bytes from row g and 16 from row g + 8 (g = lane / 4) into
// its own slots of a shared-memory ring with cp.async, a few chunks ahead of the one it decodes
// (the loads in flight hold no registers), decodes them to bf16 and feeds four mma.m16n8k16 steps (weights as the 16-row A
// operand, activations as the 8-column B operand; a second B tile for m > 8). An mma sums over the
// four threads of a row group, so pack_w8 interleaves each 64-byte run: thread t's 16 bytes hold,
// for step j, the 4 weights at k = 16 j + 4 t .. +3, making every step cover 16 consecutive k (so
// group scales of 16 or more apply per step) while the activations are read in plain order.
// Decoding: E4M3FN and E5M2 codes (when the weight holds no NaN or Inf code) by moving their bits into
// a bf16 and one multiply that corrects the exponent bias (exact, subnormals included); other formats
// (HiF8, INT8) through a per-lane copy of the format's table in shared memory (bank = lane: no conflicts).
// Scales: per row at the end (tensor, channel), or folded in after each group's steps (group, block).
//
// W8A8 for prefill (E4M3 weights, tensor or channel scales): the activations are quantized per token
// to E4M3 in the same interleaved k order, so cuBLASLt's FP8 GEMM runs on the packed weights directly.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "hifp8/error.h"
#include "hifp8/format/bits.h"
#include "hifp8/kernel/cuda.h"
#include "hifp8/kernel/cuda_matmul.h"
#include "kernel/cuda/device_format.cuh"
#include "cp_async.cuh"
#include "launch.h"

namespace hifp8::cuda {
namespace {

using detail::commit_copies;
using detail::copy_async16;
using detail::wait_copies;

constexpr int kRows = 16;    // weight rows per block (the mma's M)
constexpr int kChunk = 64;   // k per chunk: 4 threads x 16 bytes
// Chunks in each thread's cp.async ring: 3 in flight while one is decoded (loading into registers
// held at most 2 chunks per warp at 64 registers; H100 and H200 profiles: HBM 47-68 % busy). Table
// formats with two activation tiles (m > 8) keep 8-warp blocks with a 2-chunk ring: their 32 KB table
// and a 4-chunk ring only fit in 16-warp blocks, which ran 1.4x slower there (H200, 2026-12-01).
constexpr int kDeepRing = 4;
// 32 warps per SM: 4 blocks of 8 warps, or 2 blocks of 16 warps splitting k further (few rows: N <=
// 4096, where 8-warp blocks would leave SMs idle; and table formats, whose 32 KB table per block
// would not fit four times beside the rings).
constexpr int kWarpsPerSm = 32;

enum class ScaleMode { per_row, per_group };
enum class Decode { table, e4m3_bits, e5m2_bits };

struct Bf16Table {
  uint32_t bits[256];  // bf16 pattern of decode(code) in the low half
};

struct KernelArgs {
  const uint8_t* codes;
  int64_t n, k, k_padded;
  const float* scales;
  int64_t scale_cols;  // scales per row (per_group), or 0: one for all rows (tensor)
  int group_steps_mask;  // (k per scale) / 16 - 1: a power of two minus one (per_group)
  int group_shift;       // log2(k per scale) (per_group)
  int64_t block_rows;  // rows sharing a scale row (block granularity; 1 otherwise)
  const uint16_t* x;
  int m;
  void* y;     // bf16 or (y_f32) float32
  bool y_f32;
  const float* bias;
};

__device__ __forceinline__ void mma_bf16(float (&c)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0,
                                         uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t mul_bf16x2(uint32_t a, uint32_t b) {
  uint32_t r;
  asm("mul.rn.bf16x2 %0, %1, %2;\n" : "=r"(r) : "r"(a), "r"(b));
  return r;
}

// Four codes (the bytes of w) -> two bf16 pairs (bytes 0, 1 and 2, 3).
// Table: through this lane's column of the table; the byte offset of entry (code, lane) is code * 128
// + lane * 4, one shift and one and-or per code.
// Bits (E4M3FN, E5M2 without NaN or Inf codes): each byte goes to the high byte of a bf16 half, the
// magnitude shifted right until the format's exponent field ends where bf16's does, so the half holds
// value * 2^(bias - 127); multiplying by 2^(127 - bias) is exact (bf16 keeps subnormals).
template <Decode D>
__device__ __forceinline__ void decode4(const char* lut, uint32_t lane4, uint32_t w, uint32_t& p01, uint32_t& p23) {
  if constexpr (D == Decode::table) {
    const auto at = [&](uint32_t offset) { return *reinterpret_cast<const uint32_t*>(lut + offset); };
    const uint32_t v0 = at(((w << 7) & 0x7f80u) | lane4), v1 = at(((w >> 1) & 0x7f80u) | lane4);
    const uint32_t v2 = at(((w >> 9) & 0x7f80u) | lane4), v3 = at(((w >> 17) & 0x7f80u) | lane4);
    p01 = __byte_perm(v0, v1, 0x5410);
    p23 = __byte_perm(v2, v3, 0x5410);
  } else {
    constexpr int shift = D == Decode::e4m3_bits ? 4 : 3;  // 4 or 5 exponent bits
    constexpr uint32_t unbias = D == Decode::e4m3_bits ? 0x7b807b80u : 0x77807780u;  // 2^120, 2^112 (bf16 pairs)
    const uint32_t mag = w & 0x7f7f7f7fu;
    const uint32_t h01 = __byte_perm(w, 0, 0x1404), m01 = __byte_perm(mag, 0, 0x1404);
    const uint32_t h23 = __byte_perm(w, 0, 0x3424), m23 = __byte_perm(mag, 0, 0x3424);
    p01 = mul_bf16x2((h01 & 0x80008000u) | (m01 >> shift), unbias);
    p23 = mul_bf16x2((h23 & 0x80008000u) | (m23 >> shift), unbias);
  }
}


// Activations at xk .. xk + 3 (xk = row * k + column) as two bf16 pairs; zeros where `valid` is false.
__device__ __forceinline__ uint2 load_x(const uint16_t* x, int xk, bool valid) {
  return valid ? __ldg(reinterpret_cast<const uint2*>(x + xk)) : make_uint2(0, 0);
}

// The scales of row `row` (padding rows use the last real row's): one per group, or one in all.
__device__ __forceinline__ const float* row_scales(const KernelArgs& a, int64_t row) {
  if (a.scale_cols == 0) return a.scales;
  return a.scales + (min(row, a.n - 1) / a.block_rows) * a.scale_cols;
}

// Dynamic shared memory of the kernel: the copy ring, then (table decoding) the per-lane table.
constexpr size_t shared_bytes(int warps, int stages, Decode d) {
  return size_t(stages) * 2 * warps * 32 * 16 + (d == Decode::table ? 256 * 32 * 4 : 0);
}

template <int kWarps, int kStages, bool TwoTiles, ScaleMode Mode, Decode D>
__global__ void __launch_bounds__(kWarps * 32, kWarpsPerSm / kWarps) w8a16_kernel(const KernelArgs a, const Bf16Table table) {
  extern __shared__ uint4 smem[];
  constexpr int kThreads = kWarps * 32;
  uint4* ring = smem;  // [kStages][lo, hi][thread]: each thread reads back only what it copied
  uint32_t* lut = reinterpret_cast<uint32_t*>(smem + kStages * 2 * kThreads);
  if constexpr (D == Decode::table) {
    for (int e = threadIdx.x; e < 256 * 32; e += kThreads) lut[e] = table.bits[e >> 5];
    __syncthreads();
  }

  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int g = lane >> 2, t = lane & 3;
  const char* lut_bytes = reinterpret_cast<const char*>(lut);
  const uint32_t lane4 = uint32_t(lane) * 4;
  const int k = int(a.k);
  const int chunks = int(a.k_padded / kChunk);
  const bool row0 = g < a.m, row1 = g + 8 < a.m;
  const int x0_base = g * k + 4 * t, x1_base = (g + 8) * k + 4 * t;
  const int64_t n0 = int64_t{blockIdx.x} * kRows;
  const uint8_t* row_lo = a.codes + (n0 + g) * a.k_padded + t * 16;
  const uint8_t* row_hi = row_lo + 8 * a.k_padded;
  const float* scales_lo = row_scales(a, n0 + g);
  const float* scales_hi = row_scales(a, n0 + g + 8);
  float acc[2][4] = {};   // [B tile][fragment]
  float part[2][4] = {};  // the current scale group's sum (per_group)

  // This warp's chunks are warp, warp + kWarps, ...; chunk i of them goes to ring slot i % kStages.
  const int mine = chunks > warp ? (chunks - warp + kWarps - 1) / kWarps : 0;
  const auto fetch = [&](int i) {
    if (i < mine) {
      const int64_t at = int64_t{warp + i * kWarps} * kChunk;
      uint4* slot = ring + (i % kStages) * 2 * kThreads;
      copy_async16(slot + threadIdx.x, row_lo + at);
      copy_async16(slot + kThreads + threadIdx.x, row_hi + at);
    }
    commit_copies();  // an empty group past the end keeps the count uniform
  };
#pragma unroll
  for (int i = 0; i < kStages - 1; ++i) fetch(i);
  for (int i = 0; i < mine; ++i) {
    fetch(i + kStages - 1);
    wait_copies<kStages - 1>();  // chunk i has landed
    const uint4* slot = ring + (i % kStages) * 2 * kThreads;
    const uint4 w_lo = slot[threadIdx.x], w_hi = slot[kThreads + threadIdx.x];
    const int c = warp + i * kWarps;
    const uint32_t lo[4] = {w_lo.x, w_lo.y, w_lo.z, w_lo.w};
    const uint32_t hi[4] = {w_hi.x, w_hi.y, w_hi.z, w_hi.w};
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int kk = c * kChunk + 16 * j;  // + 4 t: this thread's 4 columns
      const bool in_k = kk + 4 * t < k;
      uint32_t a0, a1, a2, a3;
      decode4<D>(lut_bytes, lane4, lo[j], a0, a2);
      decode4<D>(lut_bytes, lane4, hi[j], a1, a3);
      const uint2 x0 = load_x(a.x, x0_base + kk, row0 && in_k);
      mma_bf16(Mode == ScaleMode::per_row ? acc[0] : part[0], a0, a1, a2, a3, x0.x, x0.y);
      if constexpr (TwoTiles) {
        const uint2 x1 = load_x(a.x, x1_base + kk, row1 && in_k);
        mma_bf16(Mode == ScaleMode::per_row ? acc[1] : part[1], a0, a1, a2, a3, x1.x, x1.y);
      }
      if constexpr (Mode == ScaleMode::per_group) {
        const int step = c * 4 + j;
        // Fold at a group's end, and at each chunk's (a warp's chunks are not adjacent).
        if (j == 3 || (step & a.group_steps_mask) == a.group_steps_mask) {
          const int gi = min((step * 16) >> a.group_shift, int(a.scale_cols) - 1);
          const float s_lo = scales_lo[gi], s_hi = scales_hi[gi];
#pragma unroll
          for (int b = 0; b < (TwoTiles ? 2 : 1); ++b) {
            acc[b][0] += part[b][0] * s_lo, acc[b][1] += part[b][1] * s_lo;
            acc[b][2] += part[b][2] * s_hi, acc[b][3] += part[b][3] * s_hi;
            part[b][0] = part[b][1] = part[b][2] = part[b][3] = 0.0f;
          }
        }
      }
    }
  }
  wait_copies<0>();
  __syncthreads();  // every thread is done with the ring: it now holds the warps' partial sums
  auto partial = reinterpret_cast<float(*)[kRows][16]>(smem);

  // Fragment (b, i): row g (+8 for i >= 2), column 8 b + 2 t + (i & 1).
#pragma unroll
  for (int b = 0; b < 2; ++b)
#pragma unroll
    for (int i = 0; i < 4; ++i) partial[warp][g + (i >= 2 ? 8 : 0)][8 * b + 2 * t + (i & 1)] = acc[b][i];
  __syncthreads();
  if (threadIdx.x >= kRows * 16) return;  // one thread per (row, column) of the block's output
  const int row = threadIdx.x / 16, col = threadIdx.x % 16;
  float sum = 0.0f;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) sum += partial[w][row][col];
  const int64_t n = n0 + row;
  if (col < a.m && n < a.n) {
    if constexpr (Mode == ScaleMode::per_row) sum *= row_scales(a, n)[0];
    if (a.bias) sum += a.bias[n];
    const int64_t at = int64_t{col} * a.n + n;
    if (a.y_f32) static_cast<float*>(a.y)[at] = sum;
    else static_cast<uint16_t*>(a.y)[at] = f32_to_bf16(sum);
  }
}

// out[r, c] = bf16(decode(code(r, c)) * scale(r, c)), reading the packed layout 16 bytes per thread
// (thread t's piece of a 64-byte chunk: 4 words of 4 consecutive columns, each word in one scale
// group): block (x, y) covers pieces of rows y, y + gridDim.y, ... (4-byte words per thread reached
// 2.2 TB/s on H200, 2026-12-01).
__global__ void dequantize_packed_kernel(const KernelArgs a, uint16_t* out, const Bf16Table table) {
  __shared__ float decode[256];
  for (int c = threadIdx.x; c < 256; c += blockDim.x) decode[c] = bf16_to_f32(uint16_t(table.bits[c]));
  __syncthreads();
  const int pieces = int(a.k_padded / 16);
  const int p = int(blockIdx.x) * int(blockDim.x) + int(threadIdx.x);
  if (p >= pieces) return;
  const int chunk = p / 4, t = p % 4;  // bytes 16 p .. 16 p + 15 = chunk * 64 + 16 t + 4 j + i
  for (int64_t r = blockIdx.y; r < a.n; r += gridDim.y) {
    const uint4 raw = reinterpret_cast<const uint4*>(a.codes + r * a.k_padded)[p];
    const uint32_t words[4] = {raw.x, raw.y, raw.z, raw.w};
    const float* s = row_scales(a, r);
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int col = chunk * kChunk + 16 * j + 4 * t;
      if (col >= a.k) break;
      const float scale = a.scale_cols <= 1 ? s[0] : s[min(col >> a.group_shift, int(a.scale_cols) - 1)];
      const uint32_t w = words[j];
      uint2 v;
      v.x = uint32_t(f32_to_bf16(decode[w & 0xff] * scale)) | uint32_t(f32_to_bf16(decode[(w >> 8) & 0xff] * scale)) << 16;
      v.y = uint32_t(f32_to_bf16(decode[(w >> 16) & 0xff] * scale)) | uint32_t(f32_to_bf16(decode[w >> 24] * scale)) << 16;
      *reinterpret_cast<uint2*>(out + r * a.k + col) = v;
    }
  }
}

// Row r of x (bf16, k values) -> E4M3 codes in the packed k order (padding columns 0) with the
// per-token scale max(amax / target, FLT_MIN) (the CPU's dynamic activation rule). One block per row;
// each thread encodes whole 4-column words (word q of a row goes to 16 chunk + 4 t + j, q = 16 chunk
// + 4 j + t).
__global__ void quantize_rows_e4m3_kernel(const uint16_t* x, int64_t k, int64_t k_padded, float target, uint8_t* codes,
                                          float* scales) {
  __shared__ uint32_t warp_amax[32];
  const int64_t r = blockIdx.x;
  const uint16_t* row = x + r * k;
  const uint2* words = reinterpret_cast<const uint2*>(row);  // 4 values each (k % 4 == 0)
  const auto value = [](uint2 w, int i) {
    const uint32_t pair = i < 2 ? w.x : w.y;
    return __uint_as_float(i % 2 ? pair & 0xffff0000u : pair << 16);
  };
  uint32_t local = 0;
  for (int64_t q = threadIdx.x; q < k / 4; q += blockDim.x) {
    const uint2 w = words[q];
#pragma unroll
    for (int i = 0; i < 4; ++i) local = max(local, detail::finite_abs_bits(value(w, i)));
  }
  local = detail::warp_max(local);
  if ((threadIdx.x & 31) == 0) warp_amax[threadIdx.x >> 5] = local;
  __syncthreads();
  uint32_t amax = 0;
  for (int w = 0; w < int(blockDim.x >> 5); ++w) amax = max(amax, warp_amax[w]);
  const float scale = detail::scale_for(__uint_as_float(amax), target);
  if (threadIdx.x == 0) scales[r] = scale;
  uint32_t* out = reinterpret_cast<uint32_t*>(codes + r * k_padded);
  for (int64_t q = threadIdx.x; q < k_padded / 4; q += blockDim.x) {
    uint32_t word = 0;
    if (q < k / 4) {
      const uint2 w = words[q];
#pragma unroll
      for (int i = 0; i < 4; ++i)
        word |= uint32_t(detail::encode_value<FormatId::fp8_e4m3fn, Overflow::saturate>(__fdiv_rn(value(w, i), scale),
                                                                                        nullptr))
                << (8 * i);
    }
    out[q / 16 * 16 + q % 4 * 4 + q % 16 / 4] = word;
  }
}

Bf16Table bf16_table(const FormatInfo& format) {
  Bf16Table t{};
  for (int c = 0; c < 256; ++c) t.bits[c] = f32_to_bf16(format.decode_table[c]);
  return t;
}

}  // namespace

bool codes_finite(const FormatInfo& format, const uint8_t* codes, size_t n) {
  bool finite[256];
  for (int c = 0; c < 256; ++c) finite[c] = std::isfinite(format.decode_table[c]);
  for (size_t i = 0; i < n; ++i)
    if (!finite[codes[i]]) return false;
  return true;
}

W8Layout w8_layout(int64_t n, int64_t k) {
  return {n, k, (n + kRows - 1) / kRows * kRows, (k + kChunk - 1) / kChunk * kChunk};
}

std::vector<uint8_t> pack_w8(const uint8_t* codes, int64_t n, int64_t k) {
  const W8Layout l = w8_layout(n, k);
  std::vector<uint8_t> out(size_t(l.n_padded * l.k_padded), 0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c) {
      // Logical k = chunk * 64 + 16 j + 4 t + i is stored at chunk * 64 + 16 t + 4 j + i.
      const int64_t chunk = c / kChunk, within = c % kChunk;
      const int64_t j = within / 16, t = (within % 16) / 4, i = within % 4;
      out[size_t(r * l.k_padded + chunk * kChunk + 16 * t + 4 * j + i)] = codes[r * k + c];
    }
  return out;
}

namespace {

// The kernel arguments for w (x, y, m and bias are set by the caller) and how its scales apply.
KernelArgs weight_args(const W8Weights& w, ScaleMode& mode) {
  if (!w.format) throw Error("matmul_w8a16: weights have no format");
  const W8Layout& l = w.layout;
  if (l.k % 4 != 0) throw Error("matmul_w8a16: k = " + std::to_string(l.k) + " is not a multiple of 4");
  if (l.k * 16 >= (int64_t{1} << 31)) throw Error("matmul_w8a16: k = " + std::to_string(l.k) + " is too large");
  KernelArgs a{w.codes, l.n, l.k, l.k_padded, w.scales, 0, 0, 0, 1, nullptr, 0, nullptr, false, nullptr};
  mode = ScaleMode::per_row;
  const Granularity& g = w.granularity;
  switch (g.kind) {
    case GranularityKind::tensor: break;
    case GranularityKind::channel:
    case GranularityKind::token: a.scale_cols = 1; break;
    case GranularityKind::group:
    case GranularityKind::block: {
      const int64_t width = g.kind == GranularityKind::group ? g.group_size : g.block_cols;
      if (width < 16 || (width & (width - 1)) != 0)
        throw Error("matmul_w8a16: scale groups of " + std::to_string(width) + " columns (need a power of two >= 16)");
      mode = ScaleMode::per_group;
      a.group_steps_mask = int(width / 16 - 1);
      a.group_shift = __builtin_ctzll(uint64_t(width));
      a.scale_cols = (l.k + width - 1) / width;
      a.block_rows = g.kind == GranularityKind::block ? g.block_rows : 1;
      break;
    }
  }
  return a;
}

}  // namespace

namespace {

// Which decode a weight takes: bit moves for E4M3FN / E5M2 whose codes are all finite, else the table.
Decode decode_of(const W8Weights& w) {
  if (!w.finite_codes) return Decode::table;
  if (w.format->id == FormatId::fp8_e4m3fn) return Decode::e4m3_bits;
  if (w.format->id == FormatId::fp8_e5m2) return Decode::e5m2_bits;
  return Decode::table;
}

template <int kWarps, int kStages, bool TwoTiles, ScaleMode Mode, Decode D>
void launch_one(dim3 grid, cudaStream_t s, const KernelArgs& a, const Bf16Table& table) {
  constexpr size_t bytes = shared_bytes(kWarps, kStages, D);
  static const bool configured = [] {  // above 48 KB of dynamic shared memory needs the opt-in
    check(cudaFuncSetAttribute(w8a16_kernel<kWarps, kStages, TwoTiles, Mode, D>,
                               cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes)),
          "cudaFuncSetAttribute(w8a16_kernel)");
    return true;
  }();
  (void)configured;
  w8a16_kernel<kWarps, kStages, TwoTiles, Mode, D><<<grid, kWarps * 32, bytes, s>>>(a, table);
}

template <ScaleMode Mode, Decode D>
void launch(bool two_tiles, bool wide_blocks, dim3 grid, cudaStream_t s, const KernelArgs& a, const Bf16Table& table) {
  if (D == Decode::table) {
    if (two_tiles) launch_one<8, 2, true, Mode, D>(grid, s, a, table);
    else launch_one<16, kDeepRing, false, Mode, D>(grid, s, a, table);
  } else if (wide_blocks) {
    if (two_tiles) launch_one<16, kDeepRing, true, Mode, D>(grid, s, a, table);
    else launch_one<16, kDeepRing, false, Mode, D>(grid, s, a, table);
  } else {
    if (two_tiles) launch_one<8, kDeepRing, true, Mode, D>(grid, s, a, table);
    else launch_one<8, kDeepRing, false, Mode, D>(grid, s, a, table);
  }
}

template <ScaleMode Mode>
void launch(Decode d, bool two_tiles, bool wide_blocks, dim3 grid, cudaStream_t s, const KernelArgs& a,
            const Bf16Table& table) {
  switch (d) {
    case Decode::table: launch<Mode, Decode::table>(two_tiles, wide_blocks, grid, s, a, table); break;
    case Decode::e4m3_bits: launch<Mode, Decode::e4m3_bits>(two_tiles, wide_blocks, grid, s, a, table); break;
    case Decode::e5m2_bits: launch<Mode, Decode::e5m2_bits>(two_tiles, wide_blocks, grid, s, a, table); break;
  }
}

void run_w8a16(const W8Weights& w, const uint16_t* x, int64_t m, void* y, bool y_f32, const float* bias, void* stream) {
  ScaleMode mode;
  KernelArgs a = weight_args(w, mode);
  if (m <= 0 || w.layout.n == 0) return;
  a.bias = bias;
  a.y_f32 = y_f32;
  const size_t y_size = y_f32 ? 4 : 2;
  const W8Layout& l = w.layout;
  const Bf16Table table = bf16_table(*w.format);
  const Decode decode = decode_of(w);
  const auto s = static_cast<cudaStream_t>(stream);
  const dim3 grid(unsigned(l.n_padded / kRows));
  for (int64_t m0 = 0; m0 < m; m0 += 16) {
    a.x = x + m0 * l.k;
    a.y = static_cast<char*>(y) + size_t(m0 * l.n) * y_size;
    a.m = int(std::min<int64_t>(16, m - m0));
    const bool two = a.m > 8;
    if (mode == ScaleMode::per_row) launch<ScaleMode::per_row>(decode, two, l.n <= 4096, grid, s, a, table);
    else launch<ScaleMode::per_group>(decode, two, l.n <= 4096, grid, s, a, table);
    check_launch("w8a16_kernel");
  }
}

}  // namespace

void matmul_w8a16(const W8Weights& w, const uint16_t* x, int64_t m, uint16_t* y, const float* bias, void* stream) {
  run_w8a16(w, x, m, y, false, bias, stream);
}

void matmul_w8a16(const W8Weights& w, const uint16_t* x, int64_t m, float* y, const float* bias, void* stream) {
  run_w8a16(w, x, m, y, true, bias, stream);
}

void dequantize_w8(const W8Weights& w, uint16_t* out, void* stream) {
  ScaleMode mode;
  const KernelArgs a = weight_args(w, mode);
  if (w.layout.n == 0 || w.layout.k == 0) return;
  const dim3 grid(unsigned((w.layout.k_padded / 16 + 255) / 256), unsigned(std::min<int64_t>(w.layout.n, 4096)));
  dequantize_packed_kernel<<<grid, 256, 0, static_cast<cudaStream_t>(stream)>>>(a, out, bf16_table(*w.format));
  check_launch("dequantize_packed_kernel");
}

bool w8a8_supported(const W8Weights& w) {
  const GranularityKind g = w.granularity.kind;
  return w.format && w.format->id == FormatId::fp8_e4m3fn && w.layout.n % 8 == 0 &&
         (g == GranularityKind::tensor || g == GranularityKind::channel || g == GranularityKind::token);
}

void quantize_activations_w8(const uint16_t* x, int64_t m, const W8Layout& layout, float target, uint8_t* codes,
                             float* scales, void* stream) {
  if (layout.k % 4 != 0) throw Error("quantize_activations_w8: k = " + std::to_string(layout.k) + " is not a multiple of 4");
  if (m <= 0) return;
  quantize_rows_e4m3_kernel<<<unsigned(m), 256, 0, static_cast<cudaStream_t>(stream)>>>(
      x, layout.k, layout.k_padded, target, codes, scales);
  check_launch("quantize_rows_e4m3_kernel");
}

}  // namespace hifp8::cuda
