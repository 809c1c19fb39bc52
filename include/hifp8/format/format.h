#pragma once
// The format registry: one traits record per 8-bit format. Kernels, schemes, the CLI and the test
// sweeps iterate this list; adding a format is one header with its constexpr encode/decode plus one
// entry in src/format/registry.cpp.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "hifp8/format/overflow.h"

namespace hifp8 {

// Identifies the formats that have hand-specialised kernels beside the generic table-driven ones.
enum class FormatId { hif8, hif8_rank, fp8_e4m3fn, fp8_e5m2, int8 };

enum class Rounding { nearest_ties_away, nearest_ties_even };

struct FormatInfo {
  using EncodeFn = uint8_t (*)(float);

  FormatId id;
  std::string_view name;
  std::string_view summary;
  int bits;
  bool is_integer;
  float max_finite;
  float min_normal;
  float min_subnormal;  // smallest positive value
  bool has_inf;
  std::string_view nan_codes;  // which codes are NaN ("none" for INT8)
  Rounding rounding;
  EncodeFn encode_plain;
  EncodeFn encode_saturate;
  std::array<float, 256> decode_table;  // generated from the format's decode()

  uint8_t encode(float x, Overflow overflow) const {
    return overflow == Overflow::saturate ? encode_saturate(x) : encode_plain(x);
  }
  float decode(uint8_t code) const { return decode_table[code]; }
};

std::span<const FormatInfo> all_formats();

// Looks a format up by name or alias (case-insensitive: "hif8", "e4m3", "fp8_e4m3fn", "int8", ...);
// throws Error naming the known formats otherwise.
const FormatInfo& find_format(std::string_view name);
const FormatInfo& format_info(FormatId id);

// "hif8, hif8-rank, fp8_e4m3fn, ..." for error messages and --help.
std::string format_names();

}  // namespace hifp8
