#include <algorithm>
#include <cctype>

#include "hifp8/error.h"
#include "hifp8/format/format.h"
#include "hifp8/format/hif8.h"
#include "hifp8/format/hif8_rank.h"
#include "hifp8/format/int8.h"
#include "hifp8/format/ocp_fp8.h"

namespace hifp8 {
namespace {

template <float (*Decode)(uint8_t)>
constexpr std::array<float, 256> decode_table() {
  std::array<float, 256> table{};
  for (int c = 0; c < 256; ++c) table[c] = Decode(uint8_t(c));
  return table;
}

constexpr float decode_e4m3fn(uint8_t c) { return ocp::decode<ocp::E4M3FN>(c); }
constexpr float decode_e5m2(uint8_t c) { return ocp::decode<ocp::E5M2>(c); }

const std::array<FormatInfo, 5> kFormats = {{
    {FormatId::hif8, "hif8", "HiFloat8, Ascend byte layout (tapered precision, 38 binades)", 8, false,
     32768.0f, 0x1p-15f, 0x1p-22f, true, "0x80", Rounding::nearest_ties_away,
     &hif8::encode<Overflow::plain>, &hif8::encode<Overflow::saturate>, decode_table<hif8::decode>()},
    {FormatId::hif8_rank, "hif8-rank", "HiFloat8, rank (value-ordered) byte layout", 8, false, 32768.0f,
     0x1p-15f, 0x1p-22f, true, "0x80", Rounding::nearest_ties_away, &hif8::encode_rank<Overflow::plain>,
     &hif8::encode_rank<Overflow::saturate>, decode_table<hif8::decode_rank>()},
    {FormatId::fp8_e4m3fn, "fp8_e4m3fn", "OCP FP8 E4M3FN (no Inf), torch.float8_e4m3fn", 8, false, 448.0f,
     0x1p-6f, 0x1p-9f, false, "0x7f, 0xff", Rounding::nearest_ties_even,
     &ocp::encode<ocp::E4M3FN, Overflow::plain>, &ocp::encode<ocp::E4M3FN, Overflow::saturate>,
     decode_table<decode_e4m3fn>()},
    {FormatId::fp8_e5m2, "fp8_e5m2", "OCP FP8 E5M2 (IEEE-like), torch.float8_e5m2", 8, false, 57344.0f,
     0x1p-14f, 0x1p-16f, true, "0x7d-0x7f, 0xfd-0xff", Rounding::nearest_ties_even,
     &ocp::encode<ocp::E5M2, Overflow::plain>, &ocp::encode<ocp::E5M2, Overflow::saturate>,
     decode_table<decode_e5m2>()},
    {FormatId::int8, "int8", "symmetric INT8, codes -127..127 (two's complement byte)", 8, true, 127.0f,
     1.0f, 1.0f, false, "none", Rounding::nearest_ties_even, &int8::encode<Overflow::plain>,
     &int8::encode<Overflow::saturate>, decode_table<int8::decode>()},
}};

struct Alias {
  std::string_view alias;
  FormatId id;
};
constexpr Alias kAliases[] = {
    {"hifloat8", FormatId::hif8},        {"hif8_rank", FormatId::hif8_rank}, {"e4m3", FormatId::fp8_e4m3fn},
    {"e4m3fn", FormatId::fp8_e4m3fn},    {"fp8", FormatId::fp8_e4m3fn},      {"float8_e4m3fn", FormatId::fp8_e4m3fn},
    {"e5m2", FormatId::fp8_e5m2},        {"float8_e5m2", FormatId::fp8_e5m2},
};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

std::span<const FormatInfo> all_formats() { return kFormats; }

const FormatInfo& format_info(FormatId id) {
  for (const FormatInfo& f : kFormats)
    if (f.id == id) return f;
  throw Error("internal: format id not registered");
}

const FormatInfo& find_format(std::string_view name) {
  const std::string key = lower(name);
  for (const FormatInfo& f : kFormats)
    if (f.name == key) return f;
  for (const Alias& a : kAliases)
    if (a.alias == key) return format_info(a.id);
  throw Error("unknown format '" + std::string(name) + "' (known: " + format_names() + ")");
}

std::string format_names() {
  std::string names;
  for (const FormatInfo& f : kFormats) names += (names.empty() ? "" : ", ") + std::string(f.name);
  return names;
}

}  // namespace hifp8
