#pragma once
// 4-bit element codes of the block formats (../shared/spec/microscaling.md section 1,
// ../shared/spec/hifloat4.md section 1). Bit 3 is the sign, bits 2..0 the magnitude; code 8 is -0.
//   E2M1 (MXFP4, NVFP4): magnitudes 0, 0.5, 1, 1.5, 2, 3, 4, 6; no Inf, no NaN.
//   S1P2 (HiF4):         magnitudes 0, 0.25, 0.5, ..., 1.75 (m / 4).
// Two codes per byte when packed: element 2j in the low nibble, 2j + 1 in the high one (the MX and
// NVFP4 checkpoint convention).
#include <cstddef>
#include <cstdint>

#include "hifp8/format/bits.h"

namespace hifp8::fp4 {

inline constexpr float kE2M1Max = 6.0f;

// From the bits (no table: a host array indexed at run time is not readable in device code).
constexpr float e2m1_decode(uint8_t code) {
  const unsigned e = (code >> 1) & 3u, m = code & 1u;
  const float magnitude = e == 0 ? 0.5f * float(m) : (1.0f + 0.5f * float(m)) * float(1u << (e - 1));
  return (code & 8u) ? -magnitude : magnitude;
}

constexpr float s1p2_decode(uint8_t code) {
  const float m = static_cast<float>(code & 7u) * 0.25f;
  return (code & 8u) ? -m : m;
}

// Round to nearest, ties to the even code (mantissa bit 0), saturating at 6; the sign bit is x's, so
// -0.0 and small negatives give code 8. Callers reject NaN (the format has none).
constexpr uint8_t e2m1_encode(float x) {
  const uint8_t sign = static_cast<uint8_t>((f32_bits(x) >> 28) & 8u);
  const float a = f32_abs(x);
  // The midpoints between neighbouring magnitudes; at a midpoint the even code wins.
  uint8_t m = 7;
  if (a <= 0.25f) m = 0;
  else if (a < 0.75f) m = 1;
  else if (a <= 1.25f) m = 2;
  else if (a < 1.75f) m = 3;
  else if (a <= 2.5f) m = 4;
  else if (a < 3.5f) m = 5;
  else if (a <= 5.0f) m = 6;
  return sign | m;
}

// codes (one per byte, n of them, n even) -> n / 2 packed bytes, and back.
inline void pack_pairs(const uint8_t* codes, size_t n, uint8_t* packed) {
  for (size_t j = 0; j < n / 2; ++j) packed[j] = static_cast<uint8_t>((codes[2 * j] & 15u) | (codes[2 * j + 1] << 4));
}
inline void unpack_pairs(const uint8_t* packed, size_t n, uint8_t* codes) {
  for (size_t j = 0; j < n / 2; ++j) codes[2 * j] = packed[j] & 15u, codes[2 * j + 1] = packed[j] >> 4;
}

}  // namespace hifp8::fp4
