// HiFloat4 units, as the reference CUDA kernel hifx_quant_cuda_inner computes them
// (../shared/spec/hifloat4.md section 2: every step a float32 operation unless noted).
#include <algorithm>
#include <cmath>

#include "hifp8/format/bits.h"
#include "hifp8/format/block_formats.h"
#include "hifp8/format/fp4.h"

namespace hifp8::block {
namespace {

float bf16_round(float x) { return bf16_to_f32(f32_to_bf16(x)); }

constexpr float kOneSeventh = 0.142578125f;  // bf16(1/7), the reference's constant
constexpr float kMinScale = 0x1p-48f, kMaxScale = 49152.0f;  // E6M2 codes 0x00 and 0xfe

}  // namespace

float e6m2_decode(uint8_t code) {
  return code == kE6M2Nan ? NAN : std::ldexp(1.0f + float(code & 3u) / 4.0f, int(code >> 2) - 48);
}

Hif4Unit hif4_quantize(const float* x) {
  float a[kHif4Block], m4[16], m8[8], m64 = 0.0f;
  for (int i = 0; i < kHif4Block; ++i) a[i] = std::fabs(x[i]);
  for (int j = 0; j < 16; ++j) m4[j] = std::max(std::max(a[4 * j], a[4 * j + 1]), std::max(a[4 * j + 2], a[4 * j + 3]));
  for (int k = 0; k < 8; ++k) m64 = std::max(m64, m8[k] = std::max(m4[2 * k], m4[2 * k + 1]));

  // Block scale: t = bf16(clamp(m64 * bf16(1/7))), then rounded to E6M2 (2 fraction bits, ties to even).
  const float t = bf16_round(std::clamp(m64 * kOneSeventh, kMinScale, kMaxScale));
  const int p = int(f32_bits(t) >> 23) - 127;  // t is a normal float
  const int q = int(std::nearbyint(std::ldexp(t, 2 - p)));  // 4..8
  const float s = std::ldexp(float(q), p - 2);
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
    const double rounded = std::min(std::floor(double(v) + 0.5), 7.0);  // ties away from zero, exact in double
    u.codes[i] = static_cast<uint8_t>(((f32_bits(x[i]) >> 28) & 8u) | unsigned(rounded));
  }
  return u;
}

void hif4_dequantize(const Hif4Unit& unit, float* out) {
  const float s = e6m2_decode(unit.scale);
  for (int i = 0; i < kHif4Block; ++i) {
    const int d = ((unit.e1 >> (i / 8)) & 1) + ((unit.e2 >> (i / 4)) & 1);
    out[i] = fp4::s1p2_decode(unit.codes[i]) * std::ldexp(s, d);
  }
}

}  // namespace hifp8::block
