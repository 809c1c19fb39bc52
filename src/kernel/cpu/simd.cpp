// Highway compiles this file once per instruction set (foreach_target.h re-includes it).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernel/cpu/simd.cpp"
#include "hwy/foreach_target.h"  // IWYU pragma: keep
#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "hifp8/format/bits.h"
#include "hifp8/format/hif8.h"
#include "hifp8/format/int8.h"
#include "hifp8/format/ocp_fp8.h"
#include "kernel/cpu/simd.h"

HWY_BEFORE_NAMESPACE();
namespace hifp8::kernel::simd::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using DI = hn::RebindToSigned<DF>;
using VI = hn::Vec<DI>;
using DU8 = hn::Rebind<uint8_t, DI>;

// 3 - (|e| > 3) - (|e| > 7) - (|e| > 15): HiF8's mantissa width per exponent.
HWY_INLINE VI Hif8MantissaBits(DI di, VI abs_e) {
  VI mb = hn::Set(di, 3);
  mb = hn::Add(mb, hn::VecFromMask(di, hn::Gt(abs_e, hn::Set(di, 3))));
  mb = hn::Add(mb, hn::VecFromMask(di, hn::Gt(abs_e, hn::Set(di, 7))));
  return hn::Add(mb, hn::VecFromMask(di, hn::Gt(abs_e, hn::Set(di, 15))));
}

// The same steps as hif8::encode, in lanes: round at the exponent's width, then build the code from
// the rounded exponent. Magnitude code = K + (|e| << mb) + (e<0) << (3 or 4) + m, where K folds the
// dot prefix and the implicit leading 1 of the exponent magnitude (see hif8::normal_code).
HWY_INLINE VI EncodeHif8Vec(DI di, VI bits, VI overflow_code) {
  const VI one = hn::Set(di, 1);
  const VI a = hn::And(bits, hn::Set(di, 0x7fffffff));
  const VI sign = hn::And(hn::ShiftRight<24>(bits), hn::Set(di, 0x80));
  const VI ac = hn::Min(a, hn::Set(di, 0x47800000));  // >= 65536 overflows anyway; keeps sums in range
  const VI e = hn::Sub(hn::ShiftRight<23>(ac), hn::Set(di, 127));
  const VI drop = hn::Sub(hn::Set(di, 23), Hif8MantissaBits(di, hn::Abs(e)));
  const VI half = hn::Shl(one, hn::Sub(drop, one));
  const VI r = hn::AndNot(hn::Sub(hn::Shl(one, drop), one), hn::Add(ac, half));
  const VI e2 = hn::Sub(hn::ShiftRight<23>(r), hn::Set(di, 127));
  const VI ae2 = hn::Abs(e2);
  const VI mb2 = Hif8MantissaBits(di, ae2);
  const VI m = hn::Shr(hn::And(r, hn::Set(di, 0x7fffff)), hn::Sub(hn::Set(di, 23), mb2));
  const auto gt1 = hn::Gt(ae2, one);
  VI k = hn::IfThenElse(gt1, hn::Set(di, 0x10), hn::Set(di, 0x08));
  k = hn::Add(k, hn::IfThenElseZero(hn::Gt(ae2, hn::Set(di, 3)), hn::Set(di, 0x20)));
  k = hn::Add(k, hn::IfThenElseZero(hn::Gt(ae2, hn::Set(di, 7)), hn::Set(di, 0x20)));
  const VI neg = hn::IfThenElseZero(hn::Lt(e2, hn::Zero(di)), one);
  const VI neg_shift = hn::IfThenElse(gt1, hn::Set(di, 4), hn::Set(di, 3));
  VI code = hn::Add(hn::Add(k, hn::Shl(ae2, mb2)), hn::Add(hn::Shl(neg, neg_shift), m));
  code = hn::IfThenElse(hn::Lt(e2, hn::Set(di, -15)), hn::Add(e2, hn::Set(di, 23)), code);
  code = hn::IfThenElse(hn::Eq(e, hn::Set(di, -23)), one, code);
  code = hn::IfThenZeroElse(hn::Lt(e, hn::Set(di, -23)), code);
  code = hn::IfThenElse(hn::Lt(r, hn::Set(di, static_cast<int32_t>(hif8::kOverflowBits))), code, overflow_code);
  code = hn::Or(code, hn::IfThenZeroElse(hn::Eq(code, hn::Zero(di)), sign));
  return hn::IfThenElse(hn::Gt(a, hn::Set(di, static_cast<int32_t>(kF32InfBits))), hn::Set(di, hif8::kNan), code);
}

// Round to nearest even at the format's grid; subnormals through a float add (see ocp::encode).
template <class Spec>
HWY_INLINE VI EncodeOcpVec(DF df, DI di, VI bits, VI overflow_code) {
  constexpr int kDrop = 23 - Spec::kMantissaBits;
  constexpr int32_t kMinNormalBits = (Spec::kMinNormalExp + 127) << 23;
  constexpr int32_t kMagicBits = (Spec::kMinNormalExp + 127 + kDrop) << 23;
  const VI a = hn::And(bits, hn::Set(di, 0x7fffffff));
  const VI sign = hn::And(hn::ShiftRight<24>(bits), hn::Set(di, 0x80));
  const VI ac = hn::Min(a, hn::Set(di, static_cast<int32_t>(kF32InfBits)));
  const VI odd = hn::And(hn::ShiftRight<kDrop>(ac), hn::Set(di, 1));
  const VI bias = hn::Set(di, ((Spec::kBias - 127) * (1 << 23)) + (1 << (kDrop - 1)) - 1);
  const VI normal = hn::ShiftRight<kDrop>(hn::Add(hn::Add(ac, bias), odd));
  const VI magic = hn::Set(di, kMagicBits);
  const VI sub = hn::Sub(hn::BitCast(di, hn::Add(hn::BitCast(df, ac), hn::BitCast(df, magic))), magic);
  VI code = hn::IfThenElse(hn::Lt(ac, hn::Set(di, kMinNormalBits)), sub, normal);
  code = hn::IfThenElse(hn::Gt(code, hn::Set(di, Spec::kMaxFinite)), overflow_code, code);
  code = hn::Or(code, sign);
  return hn::IfThenElse(hn::Gt(a, hn::Set(di, static_cast<int32_t>(kF32InfBits))),
                        hn::Or(sign, hn::Set(di, Spec::kNan)), code);
}

template <class VecEncode, class ScalarEncode>
HWY_INLINE void EncodeLoop(const float* HWY_RESTRICT in, uint8_t* HWY_RESTRICT out, size_t n,
                           VecEncode vec_encode, ScalarEncode scalar_encode) {
  const DF df;
  const DI di;
  const DU8 du8;
  const size_t lanes = hn::Lanes(df);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const VI code = vec_encode(hn::BitCast(di, hn::LoadU(df, in + i)));
    hn::StoreU(hn::DemoteTo(du8, code), du8, out + i);
  }
  for (; i < n; ++i) out[i] = scalar_encode(in[i]);
}

void EncodeHif8Math(const float* in, uint8_t* out, size_t n, bool saturate) {
  const DI di;
  const VI overflow = hn::Set(di, saturate ? hif8::kMaxFinite : hif8::kInf);
  auto scalar = saturate ? &hif8::encode<Overflow::saturate> : &hif8::encode<Overflow::plain>;
  EncodeLoop(in, out, n, [&](VI b) { return EncodeHif8Vec(di, b, overflow); }, scalar);
}

template <class Spec>
void EncodeOcpMath(const float* in, uint8_t* out, size_t n, bool saturate) {
  const DF df;
  const DI di;
  const VI overflow = hn::Set(di, saturate ? Spec::kMaxFinite : Spec::kInf);
  auto scalar = saturate ? &ocp::encode<Spec, Overflow::saturate> : &ocp::encode<Spec, Overflow::plain>;
  EncodeLoop(in, out, n, [&](VI b) { return EncodeOcpVec<Spec>(df, di, b, overflow); }, scalar);
}

void EncodeE4m3fnMath(const float* in, uint8_t* out, size_t n, bool saturate) {
  EncodeOcpMath<ocp::E4M3FN>(in, out, n, saturate);
}
void EncodeE5m2Math(const float* in, uint8_t* out, size_t n, bool saturate) {
  EncodeOcpMath<ocp::E5M2>(in, out, n, saturate);
}

void EncodeInt8Math(const float* in, uint8_t* out, size_t n) {
  const DF df;
  const DI di;
  const VI mask = hn::Set(di, 0xff);
  const auto lo = hn::Set(df, -int8::kMax);
  const auto hi = hn::Set(df, int8::kMax);
  EncodeLoop(in, out, n, [&](VI b) {
    const auto x = hn::BitCast(df, b);
    const auto finite_or_zero = hn::IfThenElseZero(hn::Eq(x, x), x);  // NaN -> 0
    // NearestInt rounds ties to even (the default MXCSR mode); the byte is the two's complement code.
    return hn::And(hn::NearestInt(hn::Min(hn::Max(finite_or_zero, lo), hi)), mask);
  }, &int8::encode<Overflow::saturate>);
}

void EncodePrefixLut(const float* HWY_RESTRICT in, uint8_t* HWY_RESTRICT out, size_t n,
                     const uint32_t* HWY_RESTRICT lut) {
  const DI di;
  const auto* table = reinterpret_cast<const int32_t*>(lut);
  auto scalar = [lut](float x) {
    const uint32_t b = f32_bits(x);
    const uint32_t a = b & 0x7fffffffu;
    if (a > kF32InfBits) return uint8_t{0x80};
    const uint32_t code = lut[a >> 19];
    return static_cast<uint8_t>(code == 0 ? 0 : code | ((b >> 24) & 0x80u));
  };
  EncodeLoop(in, out, n, [&](VI b) {
    const VI a = hn::And(b, hn::Set(di, 0x7fffffff));
    VI code = hn::GatherIndex(di, table, hn::ShiftRight<19>(a));
    code = hn::Or(code, hn::IfThenZeroElse(hn::Eq(code, hn::Zero(di)), hn::And(hn::ShiftRight<24>(b), hn::Set(di, 0x80))));
    return hn::IfThenElse(hn::Gt(a, hn::Set(di, static_cast<int32_t>(kF32InfBits))), hn::Set(di, 0x80), code);
  }, scalar);
}

void DecodeTable(const uint8_t* HWY_RESTRICT in, float* HWY_RESTRICT out, size_t n,
                 const float* HWY_RESTRICT table) {
  const DF df;
  const DI di;
  const DU8 du8;
  const size_t lanes = hn::Lanes(df);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const VI index = hn::PromoteTo(di, hn::LoadU(du8, in + i));
    hn::StoreU(hn::GatherIndex(df, table, index), df, out + i);
  }
  for (; i < n; ++i) out[i] = table[in[i]];
}

uint32_t MaxAbsBits(const float* HWY_RESTRICT in, size_t n) {
  const DF df;
  const DI di;
  const size_t lanes = hn::Lanes(df);
  const VI abs_mask = hn::Set(di, 0x7fffffff);
  VI m0 = hn::Zero(di), m1 = hn::Zero(di);
  size_t i = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    m0 = hn::Max(m0, hn::And(hn::BitCast(di, hn::LoadU(df, in + i)), abs_mask));
    m1 = hn::Max(m1, hn::And(hn::BitCast(di, hn::LoadU(df, in + i + lanes)), abs_mask));
  }
  uint32_t result = static_cast<uint32_t>(hn::GetLane(hn::MaxOfLanes(di, hn::Max(m0, m1))));
  for (; i < n; ++i) {
    const uint32_t a = f32_bits(in[i]) & 0x7fffffffu;
    result = a > result ? a : result;
  }
  return result;
}

// Sums for quantization-error statistics over x (original) and deq (dequantized): float lanes per
// block of kStatsBlock elements (rounding error ~1e-6 relative), blocks added in double.
constexpr size_t kStatsBlock = 1024;

void ErrorStats(const float* HWY_RESTRICT x, const float* HWY_RESTRICT deq, const uint8_t* HWY_RESTRICT codes,
                size_t n, uint8_t max_code_pos, uint8_t max_code_neg, ErrorSums* HWY_RESTRICT out) {
  const DF df;
  const DI di;
  const DU8 du8;
  const size_t lanes = hn::Lanes(df);
  const VI max_pos = hn::Set(di, max_code_pos), max_neg = hn::Set(di, max_code_neg);
  auto max_err = hn::Zero(df);
  ErrorSums sums;
  size_t i = 0;
  while (i + lanes <= n) {
    auto x2 = hn::Zero(df), e2 = hn::Zero(df);
    const size_t block_end = i + std::min(kStatsBlock, n - i) / lanes * lanes;
    for (; i < block_end; i += lanes) {
      const auto xv = hn::LoadU(df, x + i), dv = hn::LoadU(df, deq + i);
      const auto err = hn::Sub(xv, dv);
      x2 = hn::MulAdd(xv, xv, x2);
      e2 = hn::MulAdd(err, err, e2);
      max_err = hn::Max(max_err, hn::Abs(err));
      const auto nonzero = hn::Ne(xv, hn::Zero(df));
      sums.nonzero += hn::CountTrue(df, nonzero);
      sums.flushed += hn::CountTrue(df, hn::And(nonzero, hn::Eq(dv, hn::Zero(df))));
      const VI code = hn::PromoteTo(di, hn::LoadU(du8, codes + i));
      const auto at_max = hn::RebindMask(df, hn::Or(hn::Eq(code, max_pos), hn::Eq(code, max_neg)));
      sums.saturated += hn::CountTrue(df, hn::And(at_max, hn::Gt(hn::Abs(xv), hn::Abs(dv))));
    }
    sums.sum_x2 += hn::GetLane(hn::SumOfLanes(df, x2));
    sums.sum_e2 += hn::GetLane(hn::SumOfLanes(df, e2));
  }
  sums.max_abs_error = hn::GetLane(hn::MaxOfLanes(df, max_err));
  for (; i < n; ++i) {
    const float err = x[i] - deq[i];
    sums.sum_x2 += double(x[i]) * x[i];
    sums.sum_e2 += double(err) * err;
    sums.max_abs_error = std::max(sums.max_abs_error, std::fabs(err));
    if (x[i] == 0.0f) continue;
    ++sums.nonzero;
    sums.flushed += deq[i] == 0.0f;
    sums.saturated += (codes[i] == max_code_pos || codes[i] == max_code_neg) && std::fabs(x[i]) > std::fabs(deq[i]);
  }
  *out = sums;
}

// sum a[i] * b[i] with four independent vector accumulators (float32 FMA).
float Dot(const float* HWY_RESTRICT a, const float* HWY_RESTRICT b, size_t n) {
  const DF df;
  const size_t lanes = hn::Lanes(df);
  auto s0 = hn::Zero(df), s1 = hn::Zero(df), s2 = hn::Zero(df), s3 = hn::Zero(df);
  size_t i = 0;
  for (; i + 4 * lanes <= n; i += 4 * lanes) {
    s0 = hn::MulAdd(hn::LoadU(df, a + i), hn::LoadU(df, b + i), s0);
    s1 = hn::MulAdd(hn::LoadU(df, a + i + lanes), hn::LoadU(df, b + i + lanes), s1);
    s2 = hn::MulAdd(hn::LoadU(df, a + i + 2 * lanes), hn::LoadU(df, b + i + 2 * lanes), s2);
    s3 = hn::MulAdd(hn::LoadU(df, a + i + 3 * lanes), hn::LoadU(df, b + i + 3 * lanes), s3);
  }
  for (; i + lanes <= n; i += lanes) s0 = hn::MulAdd(hn::LoadU(df, a + i), hn::LoadU(df, b + i), s0);
  float sum = hn::GetLane(hn::SumOfLanes(df, hn::Add(hn::Add(s0, s1), hn::Add(s2, s3))));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// dot(x, w) where w is decoded from 8-bit codes on the fly, 8-16 lanes at a time in registers:
// FP8 through float16 bit patterns (below), INT8 by conversion, HiF8 by gathering from its 256-entry
// value table. Scales are applied by the caller.
template <class DecodeLanes>
HWY_INLINE float DotCodesLoop(const float* HWY_RESTRICT x, const uint8_t* HWY_RESTRICT codes, size_t n,
                              DecodeLanes decode_lanes, float (*decode_one)(uint8_t, const float*), const float* table) {
  const DF df;
  const DI di;
  const DU8 du8;
  const size_t lanes = hn::Lanes(df);
  auto s0 = hn::Zero(df), s1 = hn::Zero(df), s2 = hn::Zero(df), s3 = hn::Zero(df);
  const auto term = [&](size_t at, auto acc) {
    return hn::MulAdd(hn::LoadU(df, x + at), decode_lanes(hn::PromoteTo(di, hn::LoadU(du8, codes + at))), acc);
  };
  size_t i = 0;
  for (; i + 4 * lanes <= n; i += 4 * lanes) {
    s0 = term(i, s0), s1 = term(i + lanes, s1), s2 = term(i + 2 * lanes, s2), s3 = term(i + 3 * lanes, s3);
  }
  for (; i + lanes <= n; i += lanes) s0 = term(i, s0);
  float sum = hn::GetLane(hn::SumOfLanes(df, hn::Add(hn::Add(s0, s1), hn::Add(s2, s3))));
  for (; i < n; ++i) sum += x[i] * decode_one(codes[i], table);
  return sum;
}

// FP8 codes as float16 bit patterns, which F16C widens exactly: E5M2 is the top byte of a float16;
// E4M3's exponent and mantissa sit one bit lower, so (code << 8) >> 1 with the copied sign bit
// cleared is a float16 of value / 2^8 (normal and subnormal codes alike).
// code << 8 in 16-bit lanes -> the float16 bit pattern. E4M3FN's NaN (S.1111.111) would land on a
// finite float16: it becomes the float16 NaN, so a NaN weight makes the product NaN as decode does.
template <bool kE4M3, class V16>
HWY_INLINE V16 Fp8HalfBits(V16 shifted) {
  if (!kE4M3) return shifted;
  const hn::DFromV<V16> d16;
  const auto nan = hn::Eq(hn::And(shifted, hn::Set(d16, int16_t(0x7F00))), hn::Set(d16, int16_t(0x7F00)));
  return hn::IfThenElse(nan, hn::Set(d16, int16_t(0x7E00)), hn::And(hn::ShiftRight<1>(shifted), hn::Set(d16, int16_t(0xBFFF))));
}

template <bool kE4M3>
HWY_INLINE hn::Vec<DF> Fp8Lanes(hn::Vec<hn::Rebind<uint8_t, DF>> c) {
  const DF df;
  const hn::Rebind<int16_t, DF> d16;
  const hn::Rebind<hwy::float16_t, DF> dh;
  const auto bits = hn::ShiftLeft<8>(hn::BitCast(d16, hn::PromoteTo(hn::Rebind<uint16_t, DF>(), c)));
  return hn::PromoteTo(df, hn::BitCast(dh, Fp8HalfBits<kE4M3>(bits)));
}

template <bool kE4M3>
HWY_INLINE float DotFp8(const float* HWY_RESTRICT x, const uint8_t* HWY_RESTRICT codes, size_t n, const float* table) {
  const DF df;
  const size_t lanes = hn::Lanes(df);
  auto s0 = hn::Zero(df), s1 = hn::Zero(df);
  size_t i = 0;
#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128
  const hn::Rebind<uint8_t, DF> du8;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    s0 = hn::MulAdd(hn::LoadU(df, x + i), Fp8Lanes<kE4M3>(hn::LoadU(du8, codes + i)), s0);
    s1 = hn::MulAdd(hn::LoadU(df, x + i + lanes), Fp8Lanes<kE4M3>(hn::LoadU(du8, codes + i + lanes)), s1);
  }
#else
  // Full-width 16-bit lanes: one load and one set of shifts for two float32 vectors.
  const hn::Repartition<int16_t, DF> d16;
  const hn::Rebind<uint8_t, decltype(d16)> du8;
  const hn::Repartition<hwy::float16_t, DF> dh;
  const hn::Half<decltype(dh)> dhh;
  const auto half_floats = [&](size_t at) {
    const auto bits = hn::ShiftLeft<8>(hn::BitCast(d16, hn::PromoteTo(hn::RebindToUnsigned<decltype(d16)>(), hn::LoadU(du8, codes + at))));
    return hn::BitCast(dh, Fp8HalfBits<kE4M3>(bits));
  };
  // Four accumulators: enough independent FMA chains to cover the FMA latency.
  auto s2 = hn::Zero(df), s3 = hn::Zero(df);
  for (; i + 4 * lanes <= n; i += 4 * lanes) {
    const auto h0 = half_floats(i), h1 = half_floats(i + 2 * lanes);
    s0 = hn::MulAdd(hn::LoadU(df, x + i), hn::PromoteTo(df, hn::LowerHalf(dhh, h0)), s0);
    s1 = hn::MulAdd(hn::LoadU(df, x + i + lanes), hn::PromoteTo(df, hn::UpperHalf(dhh, h0)), s1);
    s2 = hn::MulAdd(hn::LoadU(df, x + i + 2 * lanes), hn::PromoteTo(df, hn::LowerHalf(dhh, h1)), s2);
    s3 = hn::MulAdd(hn::LoadU(df, x + i + 3 * lanes), hn::PromoteTo(df, hn::UpperHalf(dhh, h1)), s3);
  }
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    const auto h = half_floats(i);
    s0 = hn::MulAdd(hn::LoadU(df, x + i), hn::PromoteTo(df, hn::LowerHalf(dhh, h)), s0);
    s1 = hn::MulAdd(hn::LoadU(df, x + i + lanes), hn::PromoteTo(df, hn::UpperHalf(dhh, h)), s1);
  }
  s0 = hn::Add(s0, s2), s1 = hn::Add(s1, s3);
#endif
  float sum = hn::GetLane(hn::SumOfLanes(df, hn::Add(s0, s1))) * (kE4M3 ? 256.0f : 1.0f);
  for (; i < n; ++i) sum += x[i] * table[codes[i]];
  return sum;
}

// HiF8 weights through float16, which holds every HiF8 value exactly: the float16 bytes of the 128
// magnitudes are looked up 16 at a time with byte shuffles (pshufb), one 16-entry table per value of
// the magnitude's top three bits, stored interleaved as float16s and widened by F16C. f16_lo/f16_hi:
// the low and high bytes of the float16 of magnitude code v at index v.
float DotCodes(const float* HWY_RESTRICT x, const uint8_t* HWY_RESTRICT codes, size_t n, int kind,
               const float* HWY_RESTRICT table);

float DotHif8(const float* HWY_RESTRICT x, const uint8_t* HWY_RESTRICT codes, size_t n, const uint8_t* HWY_RESTRICT f16_lo,
              const uint8_t* HWY_RESTRICT f16_hi, const float* HWY_RESTRICT table) {
#if HWY_ARCH_X86 && HWY_TARGET >= HWY_AVX2
  // x86 below AVX-512 (which has kernels of its own): through the value table. On AVX2 its gathers
  // decode 1.2-1.7x faster than the eight byte-shuffle steps below (A/B of the two on the Xeon VM,
  // 2026-12-01); on SSE4, Highway 1.0's emulated float16 widening would turn NaN into Inf.
  return DotCodes(x, codes, n, 3, table);
#endif
  const DF df;
  const hn::ScalableTag<uint8_t> d8;
  const hn::Rebind<hwy::float16_t, DF> dh;
  const size_t lanes8 = hn::Lanes(d8), lanes = hn::Lanes(df);
  HWY_ALIGN uint8_t f16_bytes[2 * HWY_MAX_BYTES];
  const auto* f16 = reinterpret_cast<const hwy::float16_t*>(f16_bytes);
  auto s0 = hn::Zero(df), s1 = hn::Zero(df);
  size_t i = 0;
  // Needs at least two float vectors per byte vector (not so on the one-lane scalar target).
  for (; lanes8 >= 2 * lanes && i + lanes8 <= n; i += lanes8) {
    const auto c = hn::LoadU(d8, codes + i);
    const auto low = hn::And(c, hn::Set(d8, 15));
    const auto top = hn::And(hn::ShiftRight<4>(c), hn::Set(d8, 7));
    auto lo = hn::Zero(d8), hi = hn::Zero(d8);
    for (int t = 0; t < 8; ++t) {
      const auto pick = hn::Eq(top, hn::Set(d8, uint8_t(t)));
      lo = hn::IfThenElse(pick, hn::TableLookupBytes(hn::LoadDup128(d8, f16_lo + 16 * t), low), lo);
      hi = hn::IfThenElse(pick, hn::TableLookupBytes(hn::LoadDup128(d8, f16_hi + 16 * t), low), hi);
    }
    hi = hn::Or(hi, hn::And(c, hn::Set(d8, 0x80)));  // the sign
    const auto nan = hn::Eq(c, hn::Set(d8, uint8_t(0x80)));  // HiF8's NaN: sign set, magnitude 0
    hi = hn::IfThenElse(nan, hn::Set(d8, uint8_t(0x7E)), hi), lo = hn::IfThenElse(nan, hn::Zero(d8), lo);
    hn::StoreInterleaved2(lo, hi, d8, f16_bytes);
    for (size_t j = 0; j < lanes8; j += 2 * lanes) {
      s0 = hn::MulAdd(hn::LoadU(df, x + i + j), hn::PromoteTo(df, hn::LoadU(dh, f16 + j)), s0);
      s1 = hn::MulAdd(hn::LoadU(df, x + i + j + lanes), hn::PromoteTo(df, hn::LoadU(dh, f16 + j + lanes)), s1);
    }
  }
  float sum = hn::GetLane(hn::SumOfLanes(df, hn::Add(s0, s1)));
  for (; i < n; ++i) sum += x[i] * table[codes[i]];
  return sum;
}

float TableValue(uint8_t c, const float* table) { return table[c]; }

// kind 0: E4M3, 1: E5M2, 2: INT8, 3: any format through its value table (HiF8).
float DotCodes(const float* HWY_RESTRICT x, const uint8_t* HWY_RESTRICT codes, size_t n, int kind,
               const float* HWY_RESTRICT table) {
  const DF df;
  const DI di;
#if HWY_ARCH_X86 && HWY_TARGET > HWY_AVX2
  // Without F16C, Highway 1.0's emulated float16 widening turns NaN into Inf: FP8 through the table.
  if (kind <= 1) kind = 3;
#endif
  switch (kind) {
    case 0: return DotFp8<true>(x, codes, n, table);
    case 1: return DotFp8<false>(x, codes, n, table);
    case 2:  // INT8: sign-extend and convert
      return DotCodesLoop(x, codes, n, [&](VI c) {
        return hn::ConvertTo(df, hn::Sub(hn::Xor(c, hn::Set(di, 0x80)), hn::Set(di, 0x80)));
      }, TableValue, table);
    default:  // table (HiF8)
      return DotCodesLoop(x, codes, n, [&](VI c) { return hn::GatherIndex(df, table, c); }, TableValue, table);
  }
}

// dot(x, widen(w)) for bfloat16 w.
float DotBf16(const float* HWY_RESTRICT x, const uint16_t* HWY_RESTRICT w, size_t n) {
  const DF df;
  const hn::Rebind<hwy::bfloat16_t, DF> dh;
  const auto* src = reinterpret_cast<const hwy::bfloat16_t*>(w);
  const size_t lanes = hn::Lanes(df);
  auto s0 = hn::Zero(df), s1 = hn::Zero(df), s2 = hn::Zero(df), s3 = hn::Zero(df);
  size_t i = 0;
  for (; i + 4 * lanes <= n; i += 4 * lanes) {
    s0 = hn::MulAdd(hn::LoadU(df, x + i), hn::PromoteTo(df, hn::LoadU(dh, src + i)), s0);
    s1 = hn::MulAdd(hn::LoadU(df, x + i + lanes), hn::PromoteTo(df, hn::LoadU(dh, src + i + lanes)), s1);
    s2 = hn::MulAdd(hn::LoadU(df, x + i + 2 * lanes), hn::PromoteTo(df, hn::LoadU(dh, src + i + 2 * lanes)), s2);
    s3 = hn::MulAdd(hn::LoadU(df, x + i + 3 * lanes), hn::PromoteTo(df, hn::LoadU(dh, src + i + 3 * lanes)), s3);
  }
  for (; i + lanes <= n; i += lanes) s0 = hn::MulAdd(hn::LoadU(df, x + i), hn::PromoteTo(df, hn::LoadU(dh, src + i)), s0);
  float sum = hn::GetLane(hn::SumOfLanes(df, hn::Add(hn::Add(s0, s1), hn::Add(s2, s3))));
  for (; i < n; ++i) sum += x[i] * ::hifp8::bf16_to_f32(w[i]);
  return sum;
}

// Register-only FMAs for measuring the machine's peak: ten independent chains (covers FMA latency x
// throughput on current x86), `iterations` rounds. Returns a value so the work is not optimised away.
float FmaLoop(size_t iterations, size_t* flops_per_iteration) {
  const DF df;
  const auto m = hn::Set(df, 0.999f), a = hn::Set(df, 1e-3f);
  auto v0 = hn::Set(df, 1.0f), v1 = v0, v2 = v0, v3 = v0, v4 = v0, v5 = v0, v6 = v0, v7 = v0, v8 = v0, v9 = v0;
  for (size_t i = 0; i < iterations; ++i) {
    v0 = hn::MulAdd(v0, m, a), v1 = hn::MulAdd(v1, m, a), v2 = hn::MulAdd(v2, m, a), v3 = hn::MulAdd(v3, m, a);
    v4 = hn::MulAdd(v4, m, a), v5 = hn::MulAdd(v5, m, a), v6 = hn::MulAdd(v6, m, a), v7 = hn::MulAdd(v7, m, a);
    v8 = hn::MulAdd(v8, m, a), v9 = hn::MulAdd(v9, m, a);
  }
  *flops_per_iteration = 10 * 2 * hn::Lanes(df);
  const auto sum = hn::Add(hn::Add(hn::Add(v0, v1), hn::Add(v2, v3)), hn::Add(hn::Add(hn::Add(v4, v5), hn::Add(v6, v7)), hn::Add(v8, v9)));
  return hn::GetLane(hn::SumOfLanes(df, sum));
}

// out[t * out_stride + r] = dot(x + t * x_stride, w + r * w_stride, n) for 4 tokens t and 2 rows r:
// each loaded vector serves 2 or 4 products (a dot product alone loads twice per FMA).
// The prefill matmul's micro-kernel: T tokens against a panel of 2 vectors of weight rows stored
// k-major (panel[k * width + r]). Per k: two weight vectors, T broadcasts, 2T FMAs into 2T
// accumulators (12 at T = 6: fits AVX2's 16 registers), so the FMA units, not loads, set the pace.
template <size_t T>
HWY_INLINE void PanelTileT(const float* HWY_RESTRICT x, size_t x_stride, const float* HWY_RESTRICT panel, size_t n,
                           float* HWY_RESTRICT y, size_t y_stride, size_t valid, bool accumulate) {
  const DF df;
  const size_t lanes = hn::Lanes(df), width = 2 * lanes;
  hn::Vec<DF> a[T], b[T];
  for (size_t t = 0; t < T; ++t) a[t] = hn::Zero(df), b[t] = hn::Zero(df);
  for (size_t k = 0; k < n; ++k) {
    const auto w0 = hn::LoadU(df, panel + k * width), w1 = hn::LoadU(df, panel + k * width + lanes);
    for (size_t t = 0; t < T; ++t) {
      const auto xb = hn::Set(df, x[t * x_stride + k]);
      a[t] = hn::MulAdd(xb, w0, a[t]);
      b[t] = hn::MulAdd(xb, w1, b[t]);
    }
  }
  HWY_ALIGN float tail[2 * HWY_MAX_BYTES / sizeof(float)];
  for (size_t t = 0; t < T; ++t) {
    float* out = y + t * y_stride;
    if (valid == width) {
      if (accumulate) a[t] = hn::Add(a[t], hn::LoadU(df, out)), b[t] = hn::Add(b[t], hn::LoadU(df, out + lanes));
      hn::StoreU(a[t], df, out);
      hn::StoreU(b[t], df, out + lanes);
      continue;
    }
    hn::Store(a[t], df, tail);
    hn::Store(b[t], df, tail + lanes);
    for (size_t r = 0; r < valid; ++r) out[r] = accumulate ? out[r] + tail[r] : tail[r];
  }
}

size_t PanelWidth() { return 2 * hn::Lanes(DF()); }

// Highway's chosen target is an AVX-512 one (x86 targets better than AVX2), or AVX2 or better.
bool ChosenIsAvx512() { return HWY_ARCH_X86 && HWY_TARGET < HWY_AVX2; }
bool ChosenIsAtLeastAvx2() { return HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2; }

void PanelTile(const float* HWY_RESTRICT x, size_t x_stride, size_t tokens, const float* HWY_RESTRICT panel, size_t n,
               float* HWY_RESTRICT y, size_t y_stride, size_t valid, bool accumulate) {
  switch (tokens) {
    case 1: return PanelTileT<1>(x, x_stride, panel, n, y, y_stride, valid, accumulate);
    case 2: return PanelTileT<2>(x, x_stride, panel, n, y, y_stride, valid, accumulate);
    case 3: return PanelTileT<3>(x, x_stride, panel, n, y, y_stride, valid, accumulate);
    case 4: return PanelTileT<4>(x, x_stride, panel, n, y, y_stride, valid, accumulate);
    case 5: return PanelTileT<5>(x, x_stride, panel, n, y, y_stride, valid, accumulate);
    default: return PanelTileT<6>(x, x_stride, panel, n, y, y_stride, valid, accumulate);
  }
}

template <class Op>
HWY_INLINE void MapFloat(const float* HWY_RESTRICT in, float* HWY_RESTRICT out, size_t n, float c, Op op) {
  const DF df;
  const auto vc = hn::Set(df, c);
  const size_t lanes = hn::Lanes(df);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(op(hn::LoadU(df, in + i), vc), df, out + i);
  for (; i < n; ++i) out[i] = hn::GetLane(op(hn::Set(df, in[i]), vc));
}

void Divide(const float* in, float* out, size_t n, float divisor) {
  MapFloat(in, out, n, divisor, [](auto x, auto c) { return hn::Div(x, c); });
}
void Multiply(const float* in, float* out, size_t n, float factor) {
  MapFloat(in, out, n, factor, [](auto x, auto c) { return hn::Mul(x, c); });
}

void ExpScaled(const float* in, float* out, size_t n, float shift, float scale) {
  const DF df;
  const auto vscale = hn::Set(df, scale);
  MapFloat(in, out, n, shift, [&](auto x, auto c) { return hn::Exp(df, hn::Mul(hn::Sub(x, c), vscale)); });
}

template <class Half>
HWY_INLINE void PromoteHalf(const uint16_t* HWY_RESTRICT in, float* HWY_RESTRICT out, size_t n,
                            float (*scalar)(uint16_t)) {
  const DF df;
  const hn::Rebind<Half, DF> dh;
  const auto* src = reinterpret_cast<const Half*>(in);
  const size_t lanes = hn::Lanes(df);
  size_t i = 0;
  for (; i + lanes <= n; i += lanes) hn::StoreU(hn::PromoteTo(df, hn::LoadU(dh, src + i)), df, out + i);
  for (; i < n; ++i) out[i] = scalar(in[i]);
}

void Bf16ToF32(const uint16_t* in, float* out, size_t n) { PromoteHalf<hwy::bfloat16_t>(in, out, n, &::hifp8::bf16_to_f32); }
void F16ToF32(const uint16_t* in, float* out, size_t n) {
#if HWY_ARCH_X86 && HWY_TARGET > HWY_AVX2
  // Without F16C, Highway 1.0's emulated conversion turns f16 NaNs into Inf: use the exact scalar one.
  for (size_t i = 0; i < n; ++i) out[i] = ::hifp8::f16_to_f32(in[i]);
#else
  PromoteHalf<hwy::float16_t>(in, out, n, &::hifp8::f16_to_f32);
#endif
}

// Plain loop: the compiler vectorises it, and it rounds ties to even like the scalar definition.
void F32ToBf16(const float* HWY_RESTRICT in, uint16_t* HWY_RESTRICT out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = ::hifp8::f32_to_bf16(in[i]);
}

}  // namespace hifp8::kernel::simd::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace hifp8::kernel::simd {

namespace {
// HIFP8_SIMD=avx2 or sse4 caps the CPU kernels below what the CPU has, to measure or test the narrower
// code on a wider machine: Highway's better targets are disabled, and the hand-written AVX-512
// kernels follow Highway's targets (avx512::allowed). Applied when the library loads.
const bool kSimdLimit = [] {
  const char* limit = std::getenv("HIFP8_SIMD");
  if (!limit || !*limit) return false;
  if (std::string_view(limit) == "avx2") hwy::DisableTargets(HWY_AVX2 - 1);  // every target better than AVX2
  else if (std::string_view(limit) == "sse4") hwy::DisableTargets(HWY_SSE4 - 1);
  else std::fprintf(stderr, "hifp8: HIFP8_SIMD=%s ignored (avx2 or sse4)\n", limit);
  return true;
}();
}  // namespace

HWY_EXPORT(EncodeHif8Math);
HWY_EXPORT(EncodeE4m3fnMath);
HWY_EXPORT(EncodeE5m2Math);
HWY_EXPORT(EncodeInt8Math);
HWY_EXPORT(EncodePrefixLut);
HWY_EXPORT(DecodeTable);
HWY_EXPORT(MaxAbsBits);
HWY_EXPORT(ErrorStats);
HWY_EXPORT(Dot);
HWY_EXPORT(DotCodes);
HWY_EXPORT(DotHif8);
HWY_EXPORT(DotBf16);
HWY_EXPORT(FmaLoop);
HWY_EXPORT(PanelWidth);
HWY_EXPORT(ChosenIsAvx512);
HWY_EXPORT(ChosenIsAtLeastAvx2);
HWY_EXPORT(PanelTile);
HWY_EXPORT(Divide);
HWY_EXPORT(Multiply);
HWY_EXPORT(ExpScaled);
HWY_EXPORT(Bf16ToF32);
HWY_EXPORT(F16ToF32);
HWY_EXPORT(F32ToBf16);

void encode_hif8_math(const float* in, uint8_t* out, size_t n, bool saturate) {
  HWY_DYNAMIC_DISPATCH(EncodeHif8Math)(in, out, n, saturate);
}
void encode_e4m3fn_math(const float* in, uint8_t* out, size_t n, bool saturate) {
  HWY_DYNAMIC_DISPATCH(EncodeE4m3fnMath)(in, out, n, saturate);
}
void encode_e5m2_math(const float* in, uint8_t* out, size_t n, bool saturate) {
  HWY_DYNAMIC_DISPATCH(EncodeE5m2Math)(in, out, n, saturate);
}
void encode_int8_math(const float* in, uint8_t* out, size_t n) { HWY_DYNAMIC_DISPATCH(EncodeInt8Math)(in, out, n); }
void encode_prefix_lut(const float* in, uint8_t* out, size_t n, const uint32_t* lut) {
  HWY_DYNAMIC_DISPATCH(EncodePrefixLut)(in, out, n, lut);
}
void decode_table(const uint8_t* in, float* out, size_t n, const float* table) {
  HWY_DYNAMIC_DISPATCH(DecodeTable)(in, out, n, table);
}
uint32_t max_abs_bits(const float* in, size_t n) { return HWY_DYNAMIC_DISPATCH(MaxAbsBits)(in, n); }
float dot(const float* a, const float* b, size_t n) { return HWY_DYNAMIC_DISPATCH(Dot)(a, b, n); }
float dot_codes(const float* x, const uint8_t* codes, size_t n, int kind, const float* table) {
  return HWY_DYNAMIC_DISPATCH(DotCodes)(x, codes, n, kind, table);
}
float dot_bf16(const float* x, const uint16_t* w, size_t n) { return HWY_DYNAMIC_DISPATCH(DotBf16)(x, w, n); }
float dot_hif8(const float* x, const uint8_t* codes, size_t n, const uint8_t* f16_lo, const uint8_t* f16_hi,
               const float* table) {
  return HWY_DYNAMIC_DISPATCH(DotHif8)(x, codes, n, f16_lo, f16_hi, table);
}
size_t panel_width() { return HWY_DYNAMIC_DISPATCH(PanelWidth)(); }
bool chosen_is_avx512() { return HWY_DYNAMIC_DISPATCH(ChosenIsAvx512)(); }
bool chosen_is_at_least_avx2() { return HWY_DYNAMIC_DISPATCH(ChosenIsAtLeastAvx2)(); }
void panel_tile(const float* x, size_t x_stride, size_t tokens, const float* panel, size_t n, float* y, size_t y_stride,
                size_t valid, bool accumulate) {
  HWY_DYNAMIC_DISPATCH(PanelTile)(x, x_stride, tokens, panel, n, y, y_stride, valid, accumulate);
}
float fma_loop(size_t iterations, size_t* flops_per_iteration) {
  return HWY_DYNAMIC_DISPATCH(FmaLoop)(iterations, flops_per_iteration);
}
ErrorSums error_stats(const float* x, const float* deq, const uint8_t* codes, size_t n, uint8_t max_code_pos,
                      uint8_t max_code_neg) {
  ErrorSums sums;
  HWY_DYNAMIC_DISPATCH(ErrorStats)(x, deq, codes, n, max_code_pos, max_code_neg, &sums);
  return sums;
}
void divide(const float* in, float* out, size_t n, float d) { HWY_DYNAMIC_DISPATCH(Divide)(in, out, n, d); }
void multiply(const float* in, float* out, size_t n, float f) { HWY_DYNAMIC_DISPATCH(Multiply)(in, out, n, f); }
void exp_scaled(const float* in, float* out, size_t n, float shift, float scale) {
  HWY_DYNAMIC_DISPATCH(ExpScaled)(in, out, n, shift, scale);
}
void bf16_to_f32(const uint16_t* in, float* out, size_t n) { HWY_DYNAMIC_DISPATCH(Bf16ToF32)(in, out, n); }
void f16_to_f32(const uint16_t* in, float* out, size_t n) { HWY_DYNAMIC_DISPATCH(F16ToF32)(in, out, n); }
void f32_to_bf16(const float* in, uint16_t* out, size_t n) { HWY_DYNAMIC_DISPATCH(F32ToBf16)(in, out, n); }

}  // namespace hifp8::kernel::simd
#endif
