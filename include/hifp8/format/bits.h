#pragma once
// Bit-level views of the 32- and 16-bit IEEE types the formats convert from and to.
#include <bit>
#include <cstdint>
#include <limits>

namespace hifp8 {

constexpr uint32_t f32_bits(float x) { return std::bit_cast<uint32_t>(x); }
constexpr float f32_from_bits(uint32_t b) { return std::bit_cast<float>(b); }
// |x| by clearing the sign bit (constexpr, and usable in device code, unlike std::fabs).
constexpr float f32_abs(float x) { return f32_from_bits(f32_bits(x) & 0x7fffffffu); }

// The canonical NaN every decoder returns (positive quiet NaN, as the golden vectors have it).
inline constexpr uint32_t kCanonicalNanBits = 0x7fc00000u;
inline constexpr uint32_t kF32InfBits = 0x7f800000u;

constexpr float bf16_to_f32(uint16_t h) { return f32_from_bits(uint32_t{h} << 16); }

// Round to nearest, ties to even; NaN stays a (quiet) NaN with its sign.
constexpr uint16_t f32_to_bf16(float x) {
  const uint32_t b = f32_bits(x);
  if ((b & 0x7fffffffu) > kF32InfBits) return static_cast<uint16_t>((b >> 16) | 0x0040u);
  const uint32_t lsb = (b >> 16) & 1u;
  return static_cast<uint16_t>((b + 0x7fffu + lsb) >> 16);
}

// Round to nearest, ties to even; overflow to Inf; NaN stays a quiet NaN with its sign.
constexpr uint16_t f32_to_f16(float x) {
  const uint32_t b = f32_bits(x);
  const uint16_t sign = static_cast<uint16_t>((b >> 16) & 0x8000u);
  const uint32_t a = b & 0x7fffffffu;
  if (a > kF32InfBits) return sign | 0x7e00u;
  if (a >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 rounds to Inf
  if (a < 0x38800000u) {                        // below 2^-14: binary16 subnormal (or zero)
    // Adding 0.5 (whose ulp is 2^-24, the subnormal step) makes the FPU round to that grid.
    return sign | static_cast<uint16_t>(f32_bits(f32_from_bits(a) + 0.5f) - 0x3f000000u);
  }
  const uint32_t odd = (a >> 13) & 1u;
  return sign | static_cast<uint16_t>((a - 0x38000000u + 0xfffu + odd) >> 13);
}

// Exact: every binary16 value is a binary32 value.
constexpr float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t{h & 0x8000u} << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t man = h & 0x3ffu;
  if (exp == 0x1f) return f32_from_bits(sign | kF32InfBits | (man << 13));
  if (exp != 0) return f32_from_bits(sign | ((exp + 112u) << 23) | (man << 13));
  // Subnormal (or zero): man * 2^-24, exact in float arithmetic.
  const float magnitude = static_cast<float>(man) * (1.0f / 16777216.0f);
  return sign ? -magnitude : magnitude;
}

}  // namespace hifp8
