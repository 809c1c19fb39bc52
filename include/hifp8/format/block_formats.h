#pragma once
// Block formats: elements that share a scale per block (../shared/spec/microscaling.md,
// ../shared/spec/hifloat4.md). One block at a time, bit for bit with the specs' golden vectors:
//   MX (OCP):  32 elements (E2M1, E4M3 or E5M2) and one E8M0 scale byte, 2^(byte - 127).
//   NVFP4:     16 E2M1 elements, one UE4M3 scale byte, and a float32 global (encode) scale per tensor.
//   HiF4:      64 S1P2 elements, an E6M2 scale, 8 level-2 and 16 level-3 exponent bits (4.5 bits/value).
// Element codes are one per byte here (4-bit codes in the low nibble); fp4::pack_pairs packs them.
// The codecs are constexpr (plain float arithmetic and bit moves, no libm), so the CUDA kernels run
// the same definitions (compiled with --expt-relaxed-constexpr).
#include <algorithm>
#include <cstdint>
#include <string>

#include "hifp8/error.h"
#include "hifp8/format/bits.h"
#include "hifp8/format/fp4.h"
#include "hifp8/format/ocp_fp8.h"

namespace hifp8::block {

// ---- helpers ----
constexpr bool is_finite(float x) { return (f32_bits(x) & 0x7fffffffu) < kF32InfBits; }
constexpr float quiet_nan() { return f32_from_bits(kCanonicalNanBits); }
// 2^e for -149 <= e <= 127 (subnormal below -126); multiplying by it is an exact scaling, rounded once.
constexpr float pow2(int e) {
  return e >= -126 ? f32_from_bits(uint32_t(e + 127) << 23) : f32_from_bits(1u << (e + 149));
}
constexpr int exponent_of(float x) { return int((f32_bits(x) >> 23) & 0xffu) - 127; }  // -127 for 0/subnormal

// ---- MX ----
enum class MxElement { e2m1, e4m3, e5m2 };
// floor: the OCP rule (torchao's default); even: compressed-tensors' (llm-compressor's) rule, which
// first rounds the block maximum to a power of two (up when its significand is >= 1.75).
enum class MxScaleRule { floor, even };

inline constexpr int kMxBlock = 32;
inline constexpr uint8_t kE8M0Nan = 0xff;

// The exponent of the element type's largest normal value (6 = 1.5 * 2^2, 448 = 1.75 * 2^8, ...).
constexpr int mx_largest_exponent(MxElement e) {
  return e == MxElement::e2m1 ? 2 : e == MxElement::e4m3 ? 8 : 15;
}
// Round to nearest even, saturating (every microscaling path saturates its element cast).
constexpr uint8_t mx_encode_element(MxElement e, float y) {
  if (e == MxElement::e2m1) return fp4::e2m1_encode(y);
  if (e == MxElement::e4m3) return ocp::encode<ocp::E4M3FN, Overflow::saturate>(y);
  return ocp::encode<ocp::E5M2, Overflow::saturate>(y);
}
constexpr float mx_decode_element(MxElement e, uint8_t code) {
  if (e == MxElement::e2m1) return fp4::e2m1_decode(code);
  if (e == MxElement::e4m3) return ocp::decode<ocp::E4M3FN>(code);
  return ocp::decode<ocp::E5M2>(code);
}

// 2^(byte - 127); byte 255 is NaN.
constexpr float e8m0_decode(uint8_t byte) { return byte == kE8M0Nan ? quiet_nan() : pow2(int(byte) - 127); }

// Quantizes x[0..31] into `scale` and 32 element codes. A block with a NaN or Inf gets the NaN scale
// (its codes are then zeros). Returns false, writing nothing, when the even rule has no scale: a
// finite maximum >= 1.75 * 2^127 rounds to infinity.
constexpr bool mx_quantize_block(MxElement element, MxScaleRule rule, const float* x, uint8_t* codes, uint8_t& scale) {
  float amax = 0.0f;
  for (int i = 0; i < kMxBlock; ++i) {
    if (!is_finite(x[i])) {
      for (int j = 0; j < kMxBlock; ++j) codes[j] = 0;
      scale = kE8M0Nan;
      return true;
    }
    amax = std::max(amax, f32_abs(x[i]));
  }
  uint32_t bits = f32_bits(amax);
  if (rule == MxScaleRule::even) {
    bits = (bits + (1u << 21)) & 0xff800000u;  // +2^21 carries into the exponent from significand 1.75
    if (bits >= kF32InfBits) return false;
  }
  const int exponent = int(bits >> 23) - 127;  // zero and subnormal maxima: -127, as the rule says
  const int k = std::clamp(exponent - mx_largest_exponent(element), -127, 127);
  const float unscale = pow2(-k);
  for (int i = 0; i < kMxBlock; ++i) codes[i] = mx_encode_element(element, x[i] * unscale);
  scale = static_cast<uint8_t>(k + 127);
  return true;
}

// The same on the host, returning the scale byte; the even rule's undefined case is an Error.
inline uint8_t mx_quantize(MxElement element, MxScaleRule rule, const float* x, uint8_t* codes) {
  uint8_t scale = 0;
  if (!mx_quantize_block(element, rule, x, codes, scale)) {
    float amax = 0.0f;
    for (int i = 0; i < kMxBlock; ++i) amax = std::max(amax, f32_abs(x[i]));
    throw Error("MX scale (even rule): the block maximum " + std::to_string(amax) +
                " rounds to infinity; the rule defines no scale for it");
  }
  return scale;
}

// A NaN scale gives the canonical NaN (0x7fc00000) everywhere, the same bits on every backend.
constexpr void mx_dequantize(MxElement element, uint8_t scale, const uint8_t* codes, float* out) {
  const float x = e8m0_decode(scale);
  for (int i = 0; i < kMxBlock; ++i) out[i] = scale == kE8M0Nan ? quiet_nan() : mx_decode_element(element, codes[i]) * x;
}

// ---- NVFP4 ----
inline constexpr int kNvfp4Block = 16;

constexpr float ue4m3_decode(uint8_t byte) { return ocp::decode<ocp::E4M3FN>(byte); }

// The tensor's global encode scale g = 2688 / max(amax, 2^-126) (float32 reciprocal, then multiply;
// 2688 = 448 * 6), 1 when that is not finite (compressed-tensors' weight path; checkpoints store g).
constexpr float nvfp4_global_scale(float amax) {
  const float g = (1.0f / std::max(amax, pow2(-126))) * 2688.0f;
  return is_finite(g) ? g : 1.0f;
}

// Quantizes w[0..15] with global scale g: returns the UE4M3 block-scale byte, writes 16 E2M1 codes.
// Inputs must be finite (the format has no NaN or Inf; callers reject them).
constexpr uint8_t nvfp4_quantize(float global_scale, const float* w, uint8_t* codes) {
  float amax = 0.0f;
  for (int i = 0; i < kNvfp4Block; ++i) amax = std::max(amax, f32_abs(w[i]));
  const float s = std::clamp(global_scale * (amax / 6.0f), -448.0f, 448.0f);
  uint8_t scale = ocp::encode<ocp::E4M3FN, Overflow::saturate>(s);
  if (ue4m3_decode(scale) == 0.0f) scale = 0x20;  // compressed-tensors replaces a zero scale by 0.125
  const float d = ue4m3_decode(scale) / global_scale;
  const float limit = fp4::kE2M1Max;  // a copy: std::clamp binds references, and device code cannot
                                      // take the address of a host constant
  for (int i = 0; i < kNvfp4Block; ++i) codes[i] = fp4::e2m1_encode(std::clamp(w[i] / d, -limit, limit));
  return scale;
}

// e2m1(code) * (ue4m3(scale) / g), as compressed-tensors dequantizes.
constexpr void nvfp4_dequantize(float global_scale, uint8_t scale, const uint8_t* codes, float* out) {
  const float d = ue4m3_decode(scale) / global_scale;
  for (int i = 0; i < kNvfp4Block; ++i) out[i] = fp4::e2m1_decode(codes[i]) * d;
}

// ---- HiF4 ----
inline constexpr int kHif4Block = 64;
inline constexpr uint8_t kE6M2Nan = 0xff;

struct Hif4Unit {
  uint8_t scale = 0;   // E6M2: (1 + f/4) * 2^(E - 48), code E << 2 | f; 0xff is NaN
  uint8_t e1 = 0;      // bit k: level-2 exponent of elements 8k .. 8k+7
  uint16_t e2 = 0;     // bit j: level-3 exponent of elements 4j .. 4j+3
  uint8_t codes[kHif4Block] = {};  // S1P2
};

constexpr float e6m2_decode(uint8_t code) {
  return code == kE6M2Nan ? quiet_nan() : (1.0f + float(code & 3u) / 4.0f) * pow2(int(code >> 2) - 48);
}

constexpr float bf16_round(float x) { return bf16_to_f32(f32_to_bf16(x)); }

// Quantizes x[0..63] as the reference CUDA kernel hifx_quant_cuda_inner does (hifloat4.md section 2):
// float32 steps, ties to even for the scale, ties away from zero for the elements; +-Inf saturate.
// NaN inputs are the caller's to reject (the reference's result depends on their position).
constexpr Hif4Unit hif4_quantize(const float* x) {
  float a[kHif4Block] = {}, m4[16] = {}, m8[8] = {}, m64 = 0.0f;
  for (int i = 0; i < kHif4Block; ++i) a[i] = f32_abs(x[i]);
  for (int j = 0; j < 16; ++j) m4[j] = std::max(std::max(a[4 * j], a[4 * j + 1]), std::max(a[4 * j + 2], a[4 * j + 3]));
  for (int k = 0; k < 8; ++k) m64 = std::max(m64, m8[k] = std::max(m4[2 * k], m4[2 * k + 1]));

  // Block scale: t = bf16(clamp(m64 * bf16(1/7))), rounded to E6M2 (2 fraction bits, ties to even).
  const float t = bf16_round(std::clamp(m64 * 0.142578125f, pow2(-48), 49152.0f));
  const int p = exponent_of(t);  // t is normal
  const float magic = 8388608.0f;  // 2^23: adding and subtracting it rounds [4, 8] to an integer, ties to even
  const int q = int((t * pow2(2 - p) + magic) - magic);  // 4..8
  const float s = float(q) * pow2(p - 2);
  Hif4Unit u;
  u.scale = q == 8 ? static_cast<uint8_t>((p + 1 + 48) << 2) : static_cast<uint8_t>((p + 48) << 2 | (q - 4));
  const float r = bf16_round(1.0f / s);  // chooses codes only; values use s itself

  for (int k = 0; k < 8; ++k)
    if (m8[k] * r >= 4.0f) u.e1 |= uint8_t(1u << k);
  for (int j = 0; j < 16; ++j)
    if (m4[j] / float(1 << ((u.e1 >> (j / 2)) & 1)) * r >= 2.0f) u.e2 |= uint16_t(1u << j);
  for (int i = 0; i < kHif4Block; ++i) {
    const int d = ((u.e1 >> (i / 8)) & 1) + ((u.e2 >> (i / 4)) & 1);
    const float v = 4.0f * (a[i] / float(1 << d) * r);
    // floor(v + 0.5) (exact in double), clamped at 7: ties away from zero on the magnitude.
    const int m = !(v < 7.5f) ? 7 : int(double(v) + 0.5);
    u.codes[i] = static_cast<uint8_t>(((f32_bits(x[i]) >> 28) & 8u) | unsigned(m));
  }
  return u;
}

constexpr void hif4_dequantize(const Hif4Unit& unit, float* out) {
  const float s = e6m2_decode(unit.scale);
  for (int i = 0; i < kHif4Block; ++i) {
    const int d = ((unit.e1 >> (i / 8)) & 1) + ((unit.e2 >> (i / 4)) & 1);
    out[i] = fp4::s1p2_decode(unit.codes[i]) * (s * float(1 << d));
  }
}

}  // namespace hifp8::block
