// Encode / decode / amax / quantize / dequantize / fake-quant on the GPU. Memory-bound: each thread
// moves 16-byte vectors, the format's decode table lives in shared memory, and a dispatch on format
// and dtype happens once per launch (template parameters), never per element.
#include <cuda_runtime.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <vector>

#include "device_format.cuh"
#include "hifp8/error.h"
#include "hifp8/format/hif8_rank.h"
#include "hifp8/kernel/cuda.h"
#include "launch.h"

namespace hifp8::cuda {
namespace detail {

FormatTables tables_of(const FormatInfo& format) {
  FormatTables t{};
  for (int c = 0; c < 256; ++c) {
    t.decode[c] = format.decode_table[c];
    t.ascend_to_rank[c] = hif8::kAscendToRank[c];
  }
  return t;
}

const uint8_t* hif8_prefix_table(const FormatInfo& format, Overflow overflow) {
  if (!uses_prefix_table(format.id)) return nullptr;
  static std::mutex lock;
  static std::map<std::pair<FormatId, Overflow>, DeviceBuffer> tables;
  const std::lock_guard<std::mutex> guard(lock);
  auto [it, inserted] = tables.try_emplace({format.id, overflow});
  if (inserted) {
    std::vector<uint8_t> prefix(4096);
    for (uint32_t i = 0; i < 4096; ++i) prefix[i] = format.encode(f32_from_bits(i << 19), overflow);
    it->second = DeviceBuffer(prefix.size());
    it->second.upload(prefix.data(), prefix.size());
  }
  return it->second.as<uint8_t>();
}

}  // namespace detail

namespace {

using detail::FormatTables;
using detail::SharedTables;
using kernel::DType;

constexpr int kVecElems = 16;  // elements per thread per step in the elementwise kernels
constexpr int kThreads = 256;

template <DType D>
using T = typename detail::Wide<D>::type;

// Loads 16 consecutive elements (16-byte vectors; p must be 16-byte aligned) as float.
template <DType D>
__device__ __forceinline__ void load16(const T<D>* p, float (&v)[kVecElems]) {
  constexpr int kPerVec = 16 / sizeof(T<D>);
#pragma unroll
  for (int j = 0; j < kVecElems / kPerVec; ++j) {
    const uint4 raw = __ldg(reinterpret_cast<const uint4*>(p) + j);
    const T<D>* e = reinterpret_cast<const T<D>*>(&raw);
#pragma unroll
    for (int k = 0; k < kPerVec; ++k) v[j * kPerVec + k] = detail::to_float<D>(e[k]);
  }
}

template <DType D>
__device__ __forceinline__ void store16(T<D>* p, const float (&v)[kVecElems]) {
  constexpr int kPerVec = 16 / sizeof(T<D>);
#pragma unroll
  for (int j = 0; j < kVecElems / kPerVec; ++j) {
    uint4 raw;
    T<D>* e = reinterpret_cast<T<D>*>(&raw);
#pragma unroll
    for (int k = 0; k < kPerVec; ++k) e[k] = detail::from_float<D>(v[j * kPerVec + k]);
    reinterpret_cast<uint4*>(p)[j] = raw;
  }
}

__device__ __forceinline__ void store16_codes(uint8_t* p, const uint8_t (&c)[kVecElems]) {
  uint4 raw;
  uint32_t* w = reinterpret_cast<uint32_t*>(&raw);
#pragma unroll
  for (int j = 0; j < 4; ++j)
    w[j] = uint32_t{c[4 * j]} | uint32_t{c[4 * j + 1]} << 8 | uint32_t{c[4 * j + 2]} << 16 | uint32_t{c[4 * j + 3]} << 24;
  *reinterpret_cast<uint4*>(p) = raw;
}

// What the elementwise quantizer writes for each element: its code, or its fake-quantized value.
template <FormatId F, Overflow O, DType D, bool Fake>
struct ElementQuantizer {
  const SharedTables& tables;
  float scale;  // 0: encode the raw values (no scaling)

  __device__ __forceinline__ uint8_t code(float x) const {
    return detail::encode_fast<F, O>(scale == 0.0f ? x : __fdiv_rn(x, scale), tables);
  }
  __device__ __forceinline__ float fake(uint8_t c) const { return __fmul_rn(tables.decode[c], scale); }

  // Elements [i, i + count) of in -> codes / out; vectorised when count is 16 and pointers are aligned.
  __device__ __forceinline__ void run(const T<D>* in, uint8_t* codes, T<D>* out, size_t i, size_t count,
                                      bool aligned) const {
    if (count == kVecElems && aligned) {
      float v[kVecElems];
      load16<D>(in + i, v);
      uint8_t c[kVecElems];
#pragma unroll
      for (int k = 0; k < kVecElems; ++k) c[k] = code(v[k]);
      if constexpr (Fake) {
#pragma unroll
        for (int k = 0; k < kVecElems; ++k) v[k] = fake(c[k]);
        store16<D>(out + i, v);
      } else {
        store16_codes(codes + i, c);
      }
      return;
    }
    for (size_t k = i; k < i + count; ++k) {
      const uint8_t c = code(detail::to_float<D>(in[k]));
      if constexpr (Fake) out[k] = detail::from_float<D>(fake(c));
      else codes[k] = c;
    }
  }
};

// Tensor granularity and plain encode: the scale comes from *amax (nullptr: no scaling).
template <FormatId F, Overflow O, DType D, bool Fake>
__global__ void __launch_bounds__(kThreads) encode_kernel(const T<D>* in, uint8_t* codes, T<D>* out, size_t n,
                                                          const FormatTables tables, const uint8_t* prefix,
                                                          const float* amax, float target, float* scale_out,
                                                          bool aligned) {
  __shared__ SharedTables shared;
  shared.fill(tables, prefix);
  const float scale = amax ? detail::scale_for(*amax, target) : 0.0f;
  if (scale_out && blockIdx.x == 0 && threadIdx.x == 0) *scale_out = scale;
  const ElementQuantizer<F, O, D, Fake> q{shared, scale};
  const size_t stride = size_t{gridDim.x} * blockDim.x * kVecElems;
  for (size_t i = (size_t{blockIdx.x} * blockDim.x + threadIdx.x) * kVecElems; i < n; i += stride)
    q.run(in, codes, out, i, min(size_t{kVecElems}, n - i), aligned);
}

// Decoded values as `D` bit patterns (f32, or bf16 / f16 in the low half), one table per launch.
struct OutputTable {
  uint32_t bits[256];
};

// The table is replicated once per lane (entry c of lane l at word 32 c + l: bank l), so that the
// random lookups of a warp never conflict. A thread decodes 4 codes a step to float32 (one 16-byte
// store: a warp's stores are one contiguous run) or 16 codes to 16-bit values (measured faster there).
template <DType D>
__global__ void __launch_bounds__(kThreads) decode_kernel(const uint8_t* codes, T<D>* out, size_t n,
                                                          const OutputTable table, bool aligned) {
  __shared__ uint32_t lut[256 * 32];
  for (int e = threadIdx.x; e < 256 * 32; e += blockDim.x) lut[e] = table.bits[e >> 5];
  __syncthreads();
  const uint32_t* lane_lut = lut + (threadIdx.x & 31);
  constexpr int kPer = D == DType::f32 ? 4 : 16;
  const auto at = [&](uint32_t code) { return lane_lut[code * 32]; };
  const size_t stride = size_t{gridDim.x} * blockDim.x * kPer;
  for (size_t i = (size_t{blockIdx.x} * blockDim.x + threadIdx.x) * kPer; i < n; i += stride) {
    if (aligned && i + kPer <= n) {
      if constexpr (D == DType::f32) {
        const uint32_t w = __ldg(reinterpret_cast<const uint32_t*>(codes + i));
        *reinterpret_cast<uint4*>(out + i) = make_uint4(at(w & 0xffu), at((w >> 8) & 0xffu), at((w >> 16) & 0xffu), at(w >> 24));
      } else {
        const uint4 w = __ldg(reinterpret_cast<const uint4*>(codes + i));
        const auto pair = [&](uint32_t v, int shift) {
          return __byte_perm(at((v >> shift) & 0xffu), at((v >> (shift + 8)) & 0xffu), 0x5410);
        };
        uint4* o = reinterpret_cast<uint4*>(out + i);
        o[0] = make_uint4(pair(w.x, 0), pair(w.x, 16), pair(w.y, 0), pair(w.y, 16));
        o[1] = make_uint4(pair(w.z, 0), pair(w.z, 16), pair(w.w, 0), pair(w.w, 16));
      }
    } else {
      for (size_t k = i; k < min(n, i + kPer); ++k) {
        const uint32_t bits = at(codes[k]);
        if constexpr (D == DType::f32) out[k] = __uint_as_float(bits);
        else reinterpret_cast<uint16_t*>(out)[k] = uint16_t(bits);
      }
    }
  }
}

OutputTable output_table(const FormatInfo& format, DType dtype) {
  OutputTable t{};
  for (int c = 0; c < 256; ++c) {
    const float v = format.decode_table[c];
    t.bits[c] = dtype == DType::f32 ? f32_bits(v) : dtype == DType::bf16 ? f32_to_bf16(v) : f32_to_f16(v);
  }
  return t;
}

template <DType D>
__global__ void __launch_bounds__(kThreads) amax_kernel(const T<D>* in, size_t n, uint32_t* amax_bits, bool aligned) {
  uint32_t local = 0;
  const size_t stride = size_t{gridDim.x} * blockDim.x * kVecElems;
  for (size_t i = (size_t{blockIdx.x} * blockDim.x + threadIdx.x) * kVecElems; i < n; i += stride) {
    if (aligned && i + kVecElems <= n) {
      float v[kVecElems];
      load16<D>(in + i, v);
#pragma unroll
      for (int k = 0; k < kVecElems; ++k) local = max(local, detail::finite_abs_bits(v[k]));
    } else {
      for (size_t k = i; k < min(n, i + kVecElems); ++k)
        local = max(local, detail::finite_abs_bits(detail::to_float<D>(in[k])));
    }
  }
  local = detail::warp_max(local);
  if ((threadIdx.x & 31) == 0 && local) atomicMax(amax_bits, local);
}

// Max over a team of threads (a warp, or the whole block) of each thread's value.
template <int Team>
__device__ __forceinline__ uint32_t team_max(uint32_t v) {
  v = detail::warp_max(v);
  if constexpr (Team == 32) return v;
  __shared__ uint32_t partial[kThreads / 32];
  __syncthreads();  // partial may still be read from the previous call
  if ((threadIdx.x & 31) == 0) partial[threadIdx.x >> 5] = v;
  __syncthreads();
  uint32_t m = 0;
#pragma unroll
  for (int w = 0; w < kThreads / 32; ++w) m = max(m, partial[w]);
  return m;
}

// Channel / token / group granularity: one scale per contiguous run of `run` elements. A team (a warp
// for short runs, the block for long ones) takes a run: amax, scale, then encode. The second read of
// the run hits L1. For token granularity this is the fused dynamic activation quantization.
template <FormatId F, DType D, bool Fake, int Team>
__global__ void __launch_bounds__(kThreads) runs_kernel(const T<D>* in, uint8_t* codes, T<D>* out, float* scales,
                                                        size_t runs, size_t run, const FormatTables tables,
                                                        const uint8_t* prefix, float target, bool aligned) {
  __shared__ SharedTables shared;
  shared.fill(tables, prefix);
  constexpr int kTeams = kThreads / Team;
  const int rank = threadIdx.x % Team;
  const bool vector = aligned && run % kVecElems == 0;
  for (size_t r = size_t{blockIdx.x} * kTeams + threadIdx.x / Team; r - threadIdx.x / Team < runs;
       r += size_t{gridDim.x} * size_t{kTeams}) {
    // Every thread of a block team walks the same number of iterations (team_max synchronises).
    const bool live = r < runs;
    const T<D>* x = in + (live ? r : 0) * run;
    uint32_t local = 0;
    if (live) {
      if (vector) {
        for (size_t i = size_t(rank) * kVecElems; i < run; i += Team * kVecElems) {
          float v[kVecElems];
          load16<D>(x + i, v);
#pragma unroll
          for (int k = 0; k < kVecElems; ++k) local = max(local, detail::finite_abs_bits(v[k]));
        }
      } else {
        for (size_t i = rank; i < run; i += Team) local = max(local, detail::finite_abs_bits(detail::to_float<D>(x[i])));
      }
    }
    const float scale = detail::scale_for(__uint_as_float(team_max<Team>(local)), target);
    if (!live) continue;
    if (rank == 0 && scales) scales[r] = scale;
    const ElementQuantizer<F, Overflow::saturate, D, Fake> q{shared, scale};
    uint8_t* c = codes ? codes + r * run : nullptr;
    T<D>* o = out ? out + r * run : nullptr;
    if (vector) {
      for (size_t i = size_t(rank) * kVecElems; i < run; i += Team * kVecElems) q.run(x, c, o, i, kVecElems, true);
    } else {
      for (size_t i = rank; i < run; i += Team) q.run(x, c, o, i, 1, false);
    }
  }
}

// Block granularity: one thread block per block_rows x block_cols tile (ragged at the edges).
template <FormatId F, DType D, bool Fake>
__global__ void __launch_bounds__(kThreads) tiles_kernel(const T<D>* in, uint8_t* codes, T<D>* out, float* scales,
                                                         int64_t rows, int64_t cols, int64_t br, int64_t bc,
                                                         const FormatTables tables, const uint8_t* prefix,
                                                         float target) {
  __shared__ SharedTables shared;
  shared.fill(tables, prefix);
  const int64_t grid_cols = (cols + bc - 1) / bc;
  const int64_t r0 = blockIdx.y * br, c0 = blockIdx.x * bc;
  const int64_t h = min(br, rows - r0), w = min(bc, cols - c0);
  uint32_t local = 0;
  for (int64_t i = threadIdx.x; i < h * w; i += blockDim.x)
    local = max(local, detail::finite_abs_bits(detail::to_float<D>(in[(r0 + i / w) * cols + c0 + i % w])));
  const float scale = detail::scale_for(__uint_as_float(team_max<kThreads>(local)), target);
  if (threadIdx.x == 0 && scales) scales[blockIdx.y * grid_cols + blockIdx.x] = scale;
  const ElementQuantizer<F, Overflow::saturate, D, Fake> q{shared, scale};
  for (int64_t i = threadIdx.x; i < h * w; i += blockDim.x) q.run(in, codes, out, (r0 + i / w) * cols + c0 + i % w, 1, false);
}

// Where element (r, c)'s scale is in a granularity's scale tensor (32-bit columns: cols < 2^31).
struct ScaleIndex {
  GranularityKind kind;
  int64_t group, br, bc, per_row;

  ScaleIndex(const Granularity& g, int64_t cols)
      : kind(g.kind), group(g.group_size), br(g.block_rows), bc(g.block_cols),
        per_row(g.kind == GranularityKind::group ? cols / g.group_size : (cols + g.block_cols - 1) / g.block_cols) {}

  // The first scale of row r.
  __device__ __forceinline__ const float* row(const float* scales, int64_t r) const {
    return kind == GranularityKind::tensor  ? scales
           : kind == GranularityKind::group ? scales + r * per_row
           : kind == GranularityKind::block ? scales + (r / br) * per_row
                                            : scales + r;  // channel, token
  }
  // Column c's scale among the row's scales.
  __device__ __forceinline__ float at(const float* row_scales, int c) const {
    const int c_group = kind == GranularityKind::group ? int(group) : kind == GranularityKind::block ? int(bc) : 0;
    return c_group ? row_scales[c / c_group] : row_scales[0];
  }
};

// out[r, c] = decode(codes[r, c]) * scale(r, c) for any granularity.
template <DType D>
__global__ void __launch_bounds__(kThreads) dequantize_kernel(const uint8_t* codes, const float* scales, int64_t rows,
                                                              int64_t cols, const ScaleIndex index, T<D>* out,
                                                              const FormatTables tables) {
  __shared__ SharedTables shared;
  shared.fill(tables);
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const float* row_scales = index.row(scales, r);
    const uint8_t* row_codes = codes + r * cols;
    T<D>* row_out = out + r * cols;
    for (int c = int(blockIdx.x * blockDim.x + threadIdx.x); c < int(cols); c += int(gridDim.x * blockDim.x))
      row_out[c] = detail::from_float<D>(__fmul_rn(shared.decode[row_codes[c]], index.at(row_scales, c)));
  }
}

// out[r, c] = decode(encode_sat(in[r, c] / scale(r, c))) * scale(r, c) with given scales.
template <FormatId F, DType D>
__global__ void __launch_bounds__(kThreads) fake_quant_scaled_kernel(const T<D>* in, const float* scales, int64_t rows,
                                                                     int64_t cols, const ScaleIndex index, T<D>* out,
                                                                     const FormatTables tables, const uint8_t* prefix) {
  __shared__ SharedTables shared;
  shared.fill(tables, prefix);
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const float* row_scales = index.row(scales, r);
    for (int c = int(blockIdx.x * blockDim.x + threadIdx.x); c < int(cols); c += int(gridDim.x * blockDim.x)) {
      const ElementQuantizer<F, Overflow::saturate, D, true> q{shared, index.at(row_scales, c)};
      q.run(in + r * cols, nullptr, out + r * cols, size_t(c), 1, false);
    }
  }
}

// Blocks for the row-walking kernels: a few thousand walking the rows, so that each block's table
// fill is paid once, not once per row.
dim3 row_walk_grid(int64_t rows, int64_t cols) {
  return dim3(unsigned(std::min<int64_t>((cols + kThreads - 1) / kThreads, 8)), unsigned(std::min<int64_t>(rows, 512)));
}

bool aligned16(const void* a, const void* b) {
  return (reinterpret_cast<uintptr_t>(a) | reinterpret_cast<uintptr_t>(b)) % 16 == 0;
}

unsigned elementwise_blocks(size_t n) {
  const size_t per_block = size_t{kThreads} * kVecElems;
  return static_cast<unsigned>(std::clamp<size_t>((n + per_block - 1) / per_block, 1, size_t(sm_count()) * 16));
}

void check_groups_fit(const Granularity& g, int64_t cols, const char* who) {
  if (g.kind == GranularityKind::group && cols % g.group_size != 0)
    throw Error(std::string(who) + ": group size " + std::to_string(g.group_size) + " does not divide " +
                std::to_string(cols) + " columns");
}

// fn(format constant, dtype constant, tables, prefix table) for a saturating quantizer's launch: the
// dispatch on format and dtype every quantize / fake-quant entry point starts with.
template <class Fn>
void with_saturating_quantizer(const FormatInfo& format, DType dtype, Fn&& fn) {
  const FormatTables tables = detail::tables_of(format);
  const uint8_t* prefix = detail::hif8_prefix_table(format, Overflow::saturate);
  detail::with_format(format.id, [&](auto f) { detail::with_dtype(dtype, [&](auto d) { fn(f, d, tables, prefix); }); });
}

// Quantize (codes + scales) or fake-quantize (out) `in` with any granularity.
template <bool Fake>
void quantize_any(const FormatInfo& format, const Matrix& in, const Granularity& g, float target, uint8_t* codes,
                  float* scales, void* out, cudaStream_t stream) {
  if (in.rows < 0 || in.cols < 0) throw Error("cuda quantize: negative shape");
  if (!(target > 0.0f) || !(target <= format.max_finite))
    throw Error("cuda quantize: target outside (0, max finite] of " + std::string(format.name));
  check_groups_fit(g, in.cols, "cuda quantize");
  const size_t n = size_t(in.rows) * size_t(in.cols);
  if (n == 0) return;
  with_saturating_quantizer(format, in.dtype, [&](auto f, auto d, const FormatTables& tables, const uint8_t* prefix) {
    constexpr FormatId F = decltype(f)::value;
    constexpr DType D = decltype(d)::value;
    const auto* x = static_cast<const T<D>*>(in.data);
    auto* o = static_cast<T<D>*>(out);
    switch (g.kind) {
      case GranularityKind::tensor: {
        // Stream-ordered scratch for the amax: no synchronisation, no sharing between streams.
        auto* amax_dev = static_cast<float*>(scratch_alloc(sizeof(float), stream));
        amax(x, D, n, amax_dev, stream);
        encode_kernel<F, Overflow::saturate, D, Fake><<<elementwise_blocks(n), kThreads, 0, stream>>>(
            x, codes, o, n, tables, prefix, amax_dev, target, scales, aligned16(x, Fake ? (void*)o : codes));
        check_launch("encode_kernel");
        scratch_free(amax_dev, stream);
        break;
      }
      case GranularityKind::channel:
      case GranularityKind::token:
      case GranularityKind::group: {
        const size_t run = g.kind == GranularityKind::group ? size_t(g.group_size) : size_t(in.cols);
        const size_t runs = n / run;
        const bool aligned = aligned16(x, Fake ? (void*)o : codes);
        if (run >= 2048) {
          const unsigned blocks = unsigned(std::min<size_t>(runs, size_t(sm_count()) * 64));
          runs_kernel<F, D, Fake, kThreads><<<blocks, kThreads, 0, stream>>>(x, codes, o, scales, runs, run, tables,
                                                                             prefix, target, aligned);
        } else {
          const unsigned blocks = unsigned(std::min<size_t>((runs + 7) / 8, size_t(sm_count()) * 64));
          runs_kernel<F, D, Fake, 32><<<blocks, kThreads, 0, stream>>>(x, codes, o, scales, runs, run, tables, prefix,
                                                                       target, aligned);
        }
        check_launch("runs_kernel");
        break;
      }
      case GranularityKind::block: {
        const dim3 grid(unsigned((in.cols + g.block_cols - 1) / g.block_cols),
                        unsigned((in.rows + g.block_rows - 1) / g.block_rows));
        tiles_kernel<F, D, Fake><<<grid, kThreads, 0, stream>>>(x, codes, o, scales, in.rows, in.cols, g.block_rows,
                                                                g.block_cols, tables, prefix, target);
        check_launch("tiles_kernel");
        break;
      }
    }
  });
}

}  // namespace

void encode(const FormatInfo& format, const void* in, DType in_dtype, uint8_t* codes, size_t n, Overflow overflow,
            void* stream) {
  if (n == 0) return;
  const FormatTables tables = detail::tables_of(format);
  const auto s = static_cast<cudaStream_t>(stream);
  detail::with_format(format.id, [&](auto f) {
    detail::with_dtype(in_dtype, [&](auto d) {
      constexpr FormatId F = decltype(f)::value;
      constexpr DType D = decltype(d)::value;
      const auto* x = static_cast<const T<D>*>(in);
      if (overflow == Overflow::saturate)
        encode_kernel<F, Overflow::saturate, D, false><<<elementwise_blocks(n), kThreads, 0, s>>>(
            x, codes, nullptr, n, tables, detail::hif8_prefix_table(format, Overflow::saturate), nullptr, 0.0f,
            nullptr, aligned16(x, codes));
      else
        encode_kernel<F, Overflow::plain, D, false><<<elementwise_blocks(n), kThreads, 0, s>>>(
            x, codes, nullptr, n, tables, detail::hif8_prefix_table(format, Overflow::plain), nullptr, 0.0f, nullptr,
            aligned16(x, codes));
      check_launch("encode_kernel");
    });
  });
}

void decode(const FormatInfo& format, const uint8_t* codes, void* out, DType out_dtype, size_t n, void* stream) {
  if (n == 0) return;
  const OutputTable table = output_table(format, out_dtype);
  // Fewer, longer-lived blocks than the other element-wise kernels: each fills a 32 KB table.
  const unsigned blocks = std::min(elementwise_blocks(n), unsigned(sm_count() * 4));
  detail::with_dtype(out_dtype, [&](auto d) {
    constexpr DType D = decltype(d)::value;
    auto* o = static_cast<T<D>*>(out);
    decode_kernel<D><<<blocks, kThreads, 0, static_cast<cudaStream_t>(stream)>>>(codes, o, n, table, aligned16(codes, o));
    check_launch("decode_kernel");
  });
}

void amax(const void* in, DType dtype, size_t n, float* amax_out, void* stream) {
  const auto s = static_cast<cudaStream_t>(stream);
  check(cudaMemsetAsync(amax_out, 0, sizeof(float), s), "cudaMemsetAsync");
  if (n == 0) return;
  detail::with_dtype(dtype, [&](auto d) {
    constexpr DType D = decltype(d)::value;
    const auto* x = static_cast<const T<D>*>(in);
    amax_kernel<D><<<elementwise_blocks(n), kThreads, 0, s>>>(x, n, reinterpret_cast<uint32_t*>(amax_out), aligned16(x, x));
    check_launch("amax_kernel");
  });
}

void quantize(const FormatInfo& format, const Matrix& in, const Granularity& granularity, float target, uint8_t* codes,
              float* scales, void* stream) {
  quantize_any<false>(format, in, granularity, target, codes, scales, nullptr, static_cast<cudaStream_t>(stream));
}

void fake_quant(const FormatInfo& format, const Matrix& in, const Granularity& granularity, float target, void* out,
                void* stream) {
  quantize_any<true>(format, in, granularity, target, nullptr, nullptr, out, static_cast<cudaStream_t>(stream));
}

void dequantize(const FormatInfo& format, const uint8_t* codes, const float* scales, int64_t rows, int64_t cols,
                const Granularity& g, void* out, DType out_dtype, void* stream) {
  if (rows <= 0 || cols <= 0) return;
  const FormatTables tables = detail::tables_of(format);
  detail::with_dtype(out_dtype, [&](auto d) {
    constexpr DType D = decltype(d)::value;
    dequantize_kernel<D><<<row_walk_grid(rows, cols), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
        codes, scales, rows, cols, ScaleIndex(g, cols), static_cast<T<D>*>(out), tables);
    check_launch("dequantize_kernel");
  });
}

void fake_quant_scaled(const FormatInfo& format, const Matrix& in, const Granularity& g, const float* scales, void* out,
                       void* stream) {
  if (in.rows < 0 || in.cols < 0) throw Error("cuda fake_quant_scaled: negative shape");
  if (in.rows == 0 || in.cols == 0) return;
  check_groups_fit(g, in.cols, "cuda fake_quant_scaled");
  with_saturating_quantizer(format, in.dtype, [&](auto f, auto d, const FormatTables& tables, const uint8_t* prefix) {
    constexpr FormatId F = decltype(f)::value;
    constexpr DType D = decltype(d)::value;
    fake_quant_scaled_kernel<F, D><<<row_walk_grid(in.rows, in.cols), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
        static_cast<const T<D>*>(in.data), scales, in.rows, in.cols, ScaleIndex(g, in.cols), static_cast<T<D>*>(out),
        tables, prefix);
    check_launch("fake_quant_scaled_kernel");
  });
}

}  // namespace hifp8::cuda
