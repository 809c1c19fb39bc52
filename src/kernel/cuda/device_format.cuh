#pragma once
// Device-side views of the formats: the same constexpr encoders the CPU runs (compiled for the GPU
// with --expt-relaxed-constexpr), a per-block shared-memory copy of the decode table, and element
// loads/stores for the wide dtypes. Shared by the CUDA kernels in this folder.
#include <cuda_fp16.h>

#include <cfloat>
#include <cstdint>
#include <type_traits>

#include "hifp8/format/format.h"
#include "hifp8/format/hif8.h"
#include "hifp8/format/int8.h"
#include "hifp8/format/ocp_fp8.h"
#include "hifp8/kernel/array_ops.h"

namespace hifp8::cuda::detail {

// What a kernel needs to know of a format besides its id: the decode table and, for the HiF8 rank
// layout, the Ascend -> rank code map (kernels copy both into shared memory; a kernel parameter read
// with a per-thread index would serialise on the constant cache).
struct FormatTables {
  float decode[256];
  uint8_t ascend_to_rank[256];
};
FormatTables tables_of(const FormatInfo& format);

template <FormatId F, Overflow O>
__device__ __forceinline__ uint8_t encode_value(float x, const uint8_t* ascend_to_rank) {
  if constexpr (F == FormatId::hif8) return hif8::encode<O>(x);
  else if constexpr (F == FormatId::hif8_rank) return ascend_to_rank[hif8::encode<O>(x)];
  else if constexpr (F == FormatId::fp8_e4m3fn) return ocp::encode<ocp::E4M3FN, O>(x);
  else if constexpr (F == FormatId::fp8_e5m2) return ocp::encode<ocp::E5M2, O>(x);
  else {
    static_assert(F == FormatId::int8, "encode_value: no device encoder for this format");
    return int8::encode<O>(x);
  }
}

// HiF8 (either layout) encodes through a 4096-entry table of magnitude codes indexed by the top 12
// bits of |x| after the sign (exact: at most 3 mantissa bits, ties away from zero; the CPU's "lut"
// path). A device copy per format and overflow mode, made once; null for the other formats.
const uint8_t* hif8_prefix_table(const FormatInfo& format, Overflow overflow);
constexpr bool uses_prefix_table(FormatId f) { return f == FormatId::hif8 || f == FormatId::hif8_rank; }

// Copies the tables into shared memory; every thread of the block must call it before use.
struct SharedTables {
  float decode[256];
  uint8_t ascend_to_rank[256];
  uint32_t prefix[1024];  // 4096 codes, 4 a word (filled only when a prefix table is given)
  __device__ void fill(const FormatTables& t, const uint8_t* prefix_table = nullptr) {
    for (int i = threadIdx.x; i < 256; i += blockDim.x) {
      decode[i] = t.decode[i];
      ascend_to_rank[i] = t.ascend_to_rank[i];
    }
    if (prefix_table)
      for (int i = threadIdx.x; i < 1024; i += blockDim.x) prefix[i] = reinterpret_cast<const uint32_t*>(prefix_table)[i];
    __syncthreads();
  }
  __device__ __forceinline__ uint8_t prefix_code(uint32_t index) const {
    return uint8_t(prefix[index >> 2] >> (8 * (index & 3)));
  }
};

// encode_value through the shared prefix table for HiF8 (same codes, fewer instructions).
template <FormatId F, Overflow O>
__device__ __forceinline__ uint8_t encode_fast(float x, const SharedTables& t) {
  if constexpr (uses_prefix_table(F)) {
    const uint32_t b = __float_as_uint(x), a = b & 0x7fffffffu;
    if (a > kF32InfBits) return 0x80;
    const uint32_t code = t.prefix_code(a >> 19);
    return uint8_t(code == 0 ? 0 : code | ((b >> 24) & 0x80u));
  } else {
    return encode_value<F, O>(x, t.ascend_to_rank);
  }
}

template <kernel::DType D>
struct Wide;  // the storage type of a wide dtype
template <>
struct Wide<kernel::DType::f32> { using type = float; };
template <>
struct Wide<kernel::DType::bf16> { using type = uint16_t; };
template <>
struct Wide<kernel::DType::f16> { using type = __half; };

template <kernel::DType D>
__device__ __forceinline__ float to_float(typename Wide<D>::type v) {
  if constexpr (D == kernel::DType::f32) return v;
  else if constexpr (D == kernel::DType::bf16) return __uint_as_float(uint32_t{v} << 16);
  else return f16_to_f32(__half_as_ushort(v));  // keeps a NaN's sign and payload, as the CPU does
}

// Rounds to nearest even, as kernel::narrow does on the CPU.
template <kernel::DType D>
__device__ __forceinline__ typename Wide<D>::type from_float(float x) {
  if constexpr (D == kernel::DType::f32) return x;
  else if constexpr (D == kernel::DType::bf16) return f32_to_bf16(x);
  else return __ushort_as_half(f32_to_f16(x));  // the CPU's rounding and NaN
}

// Calls fn(std::integral_constant<DType, D>{}) for the runtime dtype: one dispatch per launch.
template <class Fn>
void with_dtype(kernel::DType dtype, Fn&& fn) {
  switch (dtype) {
    case kernel::DType::f32: return fn(std::integral_constant<kernel::DType, kernel::DType::f32>{});
    case kernel::DType::bf16: return fn(std::integral_constant<kernel::DType, kernel::DType::bf16>{});
    case kernel::DType::f16: return fn(std::integral_constant<kernel::DType, kernel::DType::f16>{});
  }
}

template <class Fn>
void with_format(FormatId id, Fn&& fn) {
  switch (id) {
    case FormatId::hif8: return fn(std::integral_constant<FormatId, FormatId::hif8>{});
    case FormatId::hif8_rank: return fn(std::integral_constant<FormatId, FormatId::hif8_rank>{});
    case FormatId::fp8_e4m3fn: return fn(std::integral_constant<FormatId, FormatId::fp8_e4m3fn>{});
    case FormatId::fp8_e5m2: return fn(std::integral_constant<FormatId, FormatId::fp8_e5m2>{});
    case FormatId::int8: return fn(std::integral_constant<FormatId, FormatId::int8>{});
  }
}

// |x| as ordered bits, 0 for NaN/Inf: the max of these over finite elements is the amax's bits.
__device__ __forceinline__ uint32_t finite_abs_bits(float x) {
  const uint32_t a = __float_as_uint(x) & 0x7fffffffu;
  return a < 0x7f800000u ? a : 0u;
}

// The CPU's scale rule (quantized_tensor.cpp): amax / target, at least FLT_MIN; 1 for all zeros.
__device__ __forceinline__ float scale_for(float amax, float target) {
  if (amax == 0.0f) return 1.0f;
  return fmaxf(__fdiv_rn(amax, target), FLT_MIN);
}

__device__ __forceinline__ uint32_t warp_max(uint32_t v) {
  for (int offset = 16; offset; offset >>= 1) v = max(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

}  // namespace hifp8::cuda::detail
