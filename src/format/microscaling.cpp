// MX (OCP) and NVFP4 block codecs (../shared/spec/microscaling.md sections 2 and 3).
#include <algorithm>
#include <cmath>

#include "hifp8/error.h"
#include "hifp8/format/bits.h"
#include "hifp8/format/block_formats.h"
#include "hifp8/format/fp4.h"
#include "hifp8/format/ocp_fp8.h"

namespace hifp8::block {
namespace {

// The exponent of the element type's largest normal value (6 = 1.5 * 2^2, 448 = 1.75 * 2^8, ...).
int largest_exponent(MxElement e) {
  switch (e) {
    case MxElement::e2m1: return 2;
    case MxElement::e4m3: return 8;
    case MxElement::e5m2: return 15;
  }
  return 0;
}

// Round to nearest even, saturating (every microscaling path saturates its element cast).
uint8_t encode_element(MxElement e, float y) {
  switch (e) {
    case MxElement::e2m1: return fp4::e2m1_encode(y);
    case MxElement::e4m3: return ocp::encode<ocp::E4M3FN, Overflow::saturate>(y);
    case MxElement::e5m2: return ocp::encode<ocp::E5M2, Overflow::saturate>(y);
  }
  return 0;
}

float decode_element(MxElement e, uint8_t code) {
  switch (e) {
    case MxElement::e2m1: return fp4::e2m1_decode(code);
    case MxElement::e4m3: return ocp::decode<ocp::E4M3FN>(code);
    case MxElement::e5m2: return ocp::decode<ocp::E5M2>(code);
  }
  return 0.0f;
}

float ue4m3(uint8_t byte) { return ocp::decode<ocp::E4M3FN>(byte); }

}  // namespace

float e8m0_decode(uint8_t byte) { return byte == kE8M0Nan ? NAN : std::ldexp(1.0f, int(byte) - 127); }

uint8_t mx_quantize(MxElement element, MxScaleRule rule, const float* x, uint8_t* codes) {
  float amax = 0.0f;
  for (int i = 0; i < kMxBlock; ++i) {
    const float a = std::fabs(x[i]);
    if (!std::isfinite(a)) {
      std::fill(codes, codes + kMxBlock, uint8_t{0});
      return kE8M0Nan;
    }
    amax = std::max(amax, a);
  }
  uint32_t bits = f32_bits(amax);
  if (rule == MxScaleRule::even) {
    // Round the maximum to a power of two: up when its significand is >= 1.75 (+2^21 carries there).
    bits = (bits + (1u << 21)) & 0xff800000u;
    if (bits >= kF32InfBits)
      throw Error("MX scale (even rule): the block maximum " + std::to_string(amax) +
                  " rounds to infinity; the rule defines no scale for it");
  }
  const int exponent = int(bits >> 23) - 127;  // zero and subnormal maxima: -127, as the rule says
  const int k = std::clamp(exponent - largest_exponent(element), -127, 127);
  for (int i = 0; i < kMxBlock; ++i) codes[i] = encode_element(element, std::ldexp(x[i], -k));
  return static_cast<uint8_t>(k + 127);
}

void mx_dequantize(MxElement element, uint8_t scale, const uint8_t* codes, float* out) {
  for (int i = 0; i < kMxBlock; ++i)
    out[i] = scale == kE8M0Nan ? NAN : std::ldexp(decode_element(element, codes[i]), int(scale) - 127);
}

float nvfp4_global_scale(float amax) {
  const float g = (1.0f / std::max(amax, 0x1p-126f)) * 2688.0f;  // 2688 = 448 * 6
  return std::isfinite(g) ? g : 1.0f;
}

uint8_t nvfp4_quantize(float global_scale, const float* w, uint8_t* codes) {
  float amax = 0.0f;
  for (int i = 0; i < kNvfp4Block; ++i) amax = std::max(amax, std::fabs(w[i]));
  const float s = std::clamp(global_scale * (amax / 6.0f), -448.0f, 448.0f);
  uint8_t scale = ocp::encode<ocp::E4M3FN, Overflow::saturate>(s);
  if (ue4m3(scale) == 0.0f) scale = 0x20;  // compressed-tensors replaces a zero scale by 0.125
  const float d = ue4m3(scale) / global_scale;
  for (int i = 0; i < kNvfp4Block; ++i) codes[i] = fp4::e2m1_encode(std::clamp(w[i] / d, -fp4::kE2M1Max, fp4::kE2M1Max));
  return scale;
}

void nvfp4_dequantize(float global_scale, uint8_t scale, const uint8_t* codes, float* out) {
  const float d = ue4m3(scale) / global_scale;
  for (int i = 0; i < kNvfp4Block; ++i) out[i] = fp4::e2m1_decode(codes[i]) * d;
}

}  // namespace hifp8::block
