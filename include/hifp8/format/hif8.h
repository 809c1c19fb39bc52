#pragma once
// HiFloat8 (Ascend byte layout), defined as constexpr scalar code: this is the single definition
// every table and fast path is generated from and tested against. See docs/formats.md.
//
// bit 7 sign; bits 6..0 a prefix ("dot") code, an exponent field, a mantissa field:
//   dot 11: |E| 8..15, 1 mantissa bit   dot 10: |E| 4..7, 2 bits   dot 01: |E| 2..3, 3 bits
//   dot 001: |E| = 1, 3 bits            dot 0001: E = 0, 3 bits    0000mmm: 2^(m-23), m = 1..7
// The exponent field is sign-magnitude with the magnitude's leading 1 implicit.
#include <cstdint>
#include <cstdlib>

#include "hifp8/format/bits.h"
#include "hifp8/format/overflow.h"

namespace hifp8::hif8 {

inline constexpr uint8_t kNan = 0x80;
inline constexpr uint8_t kInf = 0x6f;           // magnitude code; -Inf is 0xef
inline constexpr uint8_t kMaxFinite = 0x6e;     // 32768
inline constexpr uint32_t kOverflowBits = 0x47400000u;  // 49152: the slot Inf takes
inline constexpr int kMinDenormalExp = -22;
inline constexpr int kMaxExp = 15;

// Mantissa bits a normal value with unbiased exponent e keeps (0: the denormal powers of two).
constexpr int mantissa_bits(int e) {
  const int a = e < 0 ? -e : e;
  return a <= 3 ? 3 : a <= 7 ? 2 : a <= 15 ? 1 : 0;
}

// The 7-bit magnitude code of (1 + m / 2^mantissa_bits(e)) * 2^e for -15 <= e <= 15.
constexpr uint8_t normal_code(int e, uint32_t m) {
  const uint32_t a = static_cast<uint32_t>(e < 0 ? -e : e);
  const uint32_t neg = e < 0 ? 1u : 0u;
  if (a == 0) return static_cast<uint8_t>(0x08u | m);
  if (a == 1) return static_cast<uint8_t>(0x10u | neg << 3 | m);
  if (a <= 3) return static_cast<uint8_t>(0x20u | neg << 4 | (a - 2) << 3 | m);
  if (a <= 7) return static_cast<uint8_t>(0x40u | neg << 4 | (a - 4) << 2 | m);
  return static_cast<uint8_t>(0x60u | neg << 4 | (a - 8) << 1 | m);
}

// Round to nearest, ties away from zero (the paper's TA rounding).
template <Overflow O>
constexpr uint8_t encode(float x) {
  const uint32_t b = f32_bits(x);
  const uint8_t sign = (b >> 31) ? 0x80 : 0x00;
  const uint32_t a = b & 0x7fffffffu;
  const uint8_t overflow = sign | (O == Overflow::saturate ? kMaxFinite : kInf);
  if (a > kF32InfBits) return kNan;
  const int e = static_cast<int>(a >> 23) - 127;
  if (e < kMinDenormalExp - 1) return 0;              // below 2^-23: zero, sign dropped
  if (e == kMinDenormalExp - 1) return sign | 0x01;   // [2^-23, 2^-22): nearest (or tie) is 2^-22
  const int drop = 23 - mantissa_bits(e);
  // Adding half an ulp and truncating rounds ties away; a carry moves into the exponent.
  const uint32_t r = (a + (1u << (drop - 1))) & ~((1u << drop) - 1u);
  if (r >= kOverflowBits) return overflow;
  const int e2 = static_cast<int>(r >> 23) - 127;
  if (e2 < -kMaxExp) return sign | static_cast<uint8_t>(e2 + 23);  // denormal powers of two
  const int mb = mantissa_bits(e2);
  const uint32_t m = (r & 0x7fffffu) >> (23 - mb);
  return sign | normal_code(e2, m);
}

constexpr float decode(uint8_t code) {
  if (code == kNan) return f32_from_bits(kCanonicalNanBits);
  const uint32_t sign = uint32_t{code & 0x80u} << 24;
  const uint32_t v = code & 0x7fu;
  if (v == 0) return 0.0f;
  if (v == kInf) return f32_from_bits(sign | kF32InfBits);
  int e = 0;
  int mb = 0;
  uint32_t m = 0;
  if (v < 0x08) {
    e = static_cast<int>(v) - 23;
  } else if (v < 0x10) {
    mb = 3, m = v & 7u;
  } else if (v < 0x20) {
    mb = 3, m = v & 7u, e = (v & 0x08u) ? -1 : 1;
  } else {
    const uint32_t dot = v >> 5;  // 1, 2, 3 for dot codes 01, 10, 11
    mb = 4 - static_cast<int>(dot);
    const int field_bits = static_cast<int>(dot);  // magnitude bits stored below the sign bit
    const int magnitude = (1 << field_bits) + static_cast<int>((v >> mb) & ((1u << field_bits) - 1u));
    e = (v & 0x10u) ? -magnitude : magnitude;
    m = v & ((1u << mb) - 1u);
  }
  return f32_from_bits(sign | static_cast<uint32_t>(e + 127) << 23 | m << (23 - mb));
}

}  // namespace hifp8::hif8
