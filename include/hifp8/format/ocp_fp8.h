#pragma once
// OCP 8-bit floats (E4M3FN, E5M2), written once over the bit-field widths (as ml_dtypes does) and
// matching PyTorch's casts bit for bit: round to nearest, ties to even; -0.0 kept; NaN keeps its sign.
#include <cstdint>

#include "hifp8/format/bits.h"
#include "hifp8/format/overflow.h"

namespace hifp8::ocp {

template <int ExponentBits, int MantissaBits, bool HasInf>
struct Fp8Spec {
  static constexpr int kExponentBits = ExponentBits;
  static constexpr int kMantissaBits = MantissaBits;
  static constexpr int kBias = (1 << (ExponentBits - 1)) - 1;
  static constexpr bool kHasInf = HasInf;
  // E5M2 reserves the top exponent for Inf/NaN (IEEE style); E4M3FN only the all-ones code for NaN.
  static constexpr uint8_t kMaxFinite = HasInf ? uint8_t(((1 << ExponentBits) - 1) << MantissaBits) - 1 : 0x7e;
  static constexpr uint8_t kInf = HasInf ? uint8_t(((1 << ExponentBits) - 1) << MantissaBits) : 0x7f;
  static constexpr uint8_t kNan = 0x7f;
  static constexpr int kMinNormalExp = 1 - kBias;
};

using E4M3FN = Fp8Spec<4, 3, false>;
using E5M2 = Fp8Spec<5, 2, true>;

template <class Spec, Overflow O>
constexpr uint8_t encode(float x) {
  constexpr int kDrop = 23 - Spec::kMantissaBits;
  const uint32_t b = f32_bits(x);
  const uint8_t sign = static_cast<uint8_t>((b >> 24) & 0x80u);
  const uint32_t a = b & 0x7fffffffu;
  if (a > kF32InfBits) return sign | Spec::kNan;
  uint32_t code = 0;
  constexpr uint32_t kMinNormalBits = static_cast<uint32_t>(Spec::kMinNormalExp + 127) << 23;
  if (a < kMinNormalBits) {
    // Subnormal: adding 2^k whose float32 ulp is the format's smallest subnormal makes the FPU round
    // to that grid (ties to even); the difference of bit patterns is then the code.
    constexpr uint32_t kMagicBits = static_cast<uint32_t>(Spec::kMinNormalExp + 127 + kDrop) << 23;
    code = f32_bits(f32_from_bits(a) + f32_from_bits(kMagicBits)) - kMagicBits;
  } else {
    const uint32_t odd = (a >> kDrop) & 1u;
    const uint32_t rebias = static_cast<uint32_t>(Spec::kBias - 127) << 23;  // wraps: fine mod 2^32
    code = (a + rebias + (1u << (kDrop - 1)) - 1u + odd) >> kDrop;
  }
  if (code > Spec::kMaxFinite) code = O == Overflow::saturate ? Spec::kMaxFinite : Spec::kInf;
  return sign | static_cast<uint8_t>(code);
}

template <class Spec>
constexpr float decode(uint8_t c) {
  constexpr int kDrop = 23 - Spec::kMantissaBits;
  const uint32_t sign = uint32_t{c & 0x80u} << 24;
  const uint32_t v = c & 0x7fu;
  if (Spec::kHasInf ? v > Spec::kInf : v == Spec::kNan) return f32_from_bits(kCanonicalNanBits);
  if (Spec::kHasInf && v == Spec::kInf) return f32_from_bits(sign | kF32InfBits);
  const uint32_t exp = v >> Spec::kMantissaBits;
  const uint32_t man = v & ((1u << Spec::kMantissaBits) - 1u);
  float magnitude = 0.0f;
  if (exp == 0) {
    // man * 2^(min normal exponent - mantissa bits), exact in float arithmetic
    magnitude = static_cast<float>(man) *
                f32_from_bits(static_cast<uint32_t>(Spec::kMinNormalExp - Spec::kMantissaBits + 127) << 23);
  } else {
    magnitude = f32_from_bits((exp - Spec::kBias + 127) << 23 | man << kDrop);
  }
  return f32_from_bits(sign | f32_bits(magnitude));
}

}  // namespace hifp8::ocp
