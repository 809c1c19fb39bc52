#pragma once
// Symmetric INT8: q = clamp(round_half_to_even(x), -127, 127) on an already-scaled value; -128 is
// never produced. An integer has no Inf or NaN, so the plain and saturating casts are the same
// clamp, and NaN encodes to 0 (the error for non-finite data is raised a layer up, by quant/).
#include <cstdint>

#include "hifp8/format/overflow.h"

namespace hifp8::int8 {

inline constexpr float kMax = 127.0f;

template <Overflow>
constexpr uint8_t encode(float x) {
  if (!(x == x)) return 0;
  const float c = x > kMax ? kMax : x < -kMax ? -kMax : x;
  // Adding and removing 2^23 rounds to an integer with the FPU's ties-to-even (|c| < 2^23).
  const float magnitude = ((c < 0 ? -c : c) + 8388608.0f) - 8388608.0f;
  const int q = static_cast<int>(magnitude);
  return static_cast<uint8_t>(c < 0 ? -q : q);
}

constexpr float decode(uint8_t c) { return static_cast<float>(static_cast<int8_t>(c)); }

}  // namespace hifp8::int8
