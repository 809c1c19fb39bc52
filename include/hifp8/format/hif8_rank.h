#pragma once
// The HiF8 "rank" byte layout: the 128 non-negative codes numbered by value (0 = 0.0, 1 = 2^-22,
// ..., 126 = 32768, 127 = +Inf), sign in bit 7, 0x80 = NaN. A bijection with the Ascend layout;
// both tables are generated from hif8::decode, never typed in.
#include <array>
#include <cstdint>

#include "hifp8/format/hif8.h"

namespace hifp8::hif8 {

inline constexpr std::array<uint8_t, 256> kAscendToRank = [] {
  std::array<uint8_t, 256> table{};
  for (int c = 0; c < 128; ++c) {
    int rank = 0;
    for (int other = 0; other < 128; ++other) rank += decode(uint8_t(other)) < decode(uint8_t(c)) ? 1 : 0;
    table[c] = uint8_t(rank);
    table[c | 0x80] = uint8_t(rank | 0x80);
  }
  return table;
}();

inline constexpr std::array<uint8_t, 256> kRankToAscend = [] {
  std::array<uint8_t, 256> table{};
  for (int c = 0; c < 256; ++c) table[kAscendToRank[c]] = uint8_t(c);
  return table;
}();

template <Overflow O>
constexpr uint8_t encode_rank(float x) { return kAscendToRank[encode<O>(x)]; }

constexpr float decode_rank(uint8_t code) { return decode(kRankToAscend[code]); }

}  // namespace hifp8::hif8
