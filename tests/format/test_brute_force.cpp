// The scalar encoders against an independent oracle: the nearest of the format's 256 decoded values,
// found by searching them all (float64 distances), with the format's tie rule, on fresh random inputs
// and on every midpoint between neighbouring values (and the floats either side of it).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "hifp8/format/bits.h"
#include "hifp8/format/format.h"

namespace hifp8 {
namespace {

// The grid point just past the largest finite value: values nearer to it than to max overflow
// (independent statement of the spec: HiF8's Inf slot is 1.5 * 2^15; E4M3's NaN slot 1.875 * 2^8).
double overflow_slot(const FormatInfo& f) {
  switch (f.id) {
    case FormatId::hif8:
    case FormatId::hif8_rank: return 49152.0;
    case FormatId::fp8_e4m3fn: return 480.0;
    case FormatId::fp8_e5m2: return 65536.0;
    case FormatId::int8: return INFINITY;  // integers clamp
  }
  return INFINITY;
}

struct Candidate {
  double value;
  uint8_t code;
};

class BruteForce {
 public:
  explicit BruteForce(const FormatInfo& f) : format_(f) {
    for (int c = 0; c < 256; ++c) {
      const float v = f.decode(uint8_t(c));
      if (std::isfinite(v) && !std::signbit(v)) candidates_.push_back({v, uint8_t(c)});
    }
    slot_code_ = f.encode(INFINITY, Overflow::plain);
  }

  uint8_t encode(float x, Overflow overflow) const {
    const double a = std::fabs(double(x));
    const Candidate* best = nullptr;
    double best_distance = INFINITY;
    for (const Candidate& c : candidates_) {
      const double d = std::fabs(a - c.value);
      if (d < best_distance || (d == best_distance && prefer(c, *best))) best = &c, best_distance = d;
    }
    const double slot = overflow_slot(format_);
    const double max = format_.max_finite;
    // Overflow: nearer to the slot than to max, or a tie that the rule gives to the slot.
    const bool to_slot = a > slot || std::fabs(a - slot) < a - max ||
                         (std::fabs(a - slot) == a - max && slot_wins_tie());
    if (to_slot) return with_sign(x, overflow == Overflow::saturate ? code_of(max) : slot_code_);
    return with_sign(x, best->code);
  }

 private:
  bool ties_even() const { return format_.rounding == Rounding::nearest_ties_even; }
  bool prefer(const Candidate& c, const Candidate& current) const {
    return ties_even() ? (c.code & 1) == 0 : c.value > current.value;
  }
  bool slot_wins_tie() const { return ties_even() ? (slot_code_ & 1) == 0 : true; }
  uint8_t code_of(double v) const {
    for (const Candidate& c : candidates_)
      if (c.value == v) return c.code;
    ADD_FAILURE() << "no code for " << v;
    return 0;
  }
  // The code of -value: found by value, so formats without -0 (HiF8) give the zero code.
  uint8_t with_sign(float x, uint8_t magnitude_code) const {
    if (!std::signbit(x)) return magnitude_code;
    if (std::isnan(format_.decode(magnitude_code))) return magnitude_code | 0x80;  // E4M3FN's -NaN: 0xff
    const float target = -format_.decode(magnitude_code);
    for (int c = 0; c < 256; ++c)
      if (f32_bits(format_.decode(uint8_t(c))) == f32_bits(target)) return uint8_t(c);
    return magnitude_code;  // no negative zero in this format
  }

  const FormatInfo& format_;
  std::vector<Candidate> candidates_;
  uint8_t slot_code_;
};

std::vector<float> probe_inputs(const FormatInfo& f, uint32_t seed) {
  std::vector<float> inputs;
  std::vector<double> values;
  for (int c = 0; c < 256; ++c) {
    const float v = f.decode(uint8_t(c));
    if (std::isfinite(v) && v >= 0) values.push_back(v);
  }
  if (std::isfinite(overflow_slot(f))) values.push_back(overflow_slot(f));
  std::sort(values.begin(), values.end());
  for (size_t i = 0; i + 1 < values.size(); ++i) {
    const float mid = static_cast<float>((values[i] + values[i + 1]) / 2);  // exact: few significant bits
    for (float x : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, INFINITY), float(values[i])})
      inputs.insert(inputs.end(), {x, -x});
  }
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> log2_magnitude(std::log2(f.min_subnormal) - 3, std::log2(overflow_slot(f) == INFINITY ? 256.0 : overflow_slot(f)) + 1);
  std::uniform_int_distribution<uint32_t> mantissa(0, (1u << 23) - 1);
  for (int i = 0; i < 200000; ++i) {
    const float base = static_cast<float>(std::exp2(log2_magnitude(rng)));
    float x = f32_from_bits((f32_bits(base) & 0xff800000u) | mantissa(rng));
    inputs.push_back(i % 2 ? -x : x);
  }
  return inputs;
}

class BruteForceTest : public testing::TestWithParam<FormatId> {};

TEST_P(BruteForceTest, ScalarEncoderIsTheNearestValueWithTheFormatsTieRule) {
  const FormatInfo& f = format_info(GetParam());
  const BruteForce oracle(f);
  int failures = 0;
  for (float x : probe_inputs(f, std::random_device{}())) {
    for (Overflow o : {Overflow::plain, Overflow::saturate}) {
      const uint8_t expected = oracle.encode(x, o);
      const uint8_t got = f.encode(x, o);
      if (got != expected && ++failures <= 10)
        ADD_FAILURE() << f.name << " x=" << x << std::hexfloat << " (" << x << ") got 0x" << std::hex << int(got)
                      << " expected 0x" << int(expected) << (o == Overflow::saturate ? " saturating" : "");
    }
  }
  EXPECT_EQ(failures, 0);
}

INSTANTIATE_TEST_SUITE_P(AllFormats, BruteForceTest,
                         testing::Values(FormatId::hif8, FormatId::hif8_rank, FormatId::fp8_e4m3fn,
                                         FormatId::fp8_e5m2, FormatId::int8),
                         [](const auto& info) {
                           std::string name(format_info(info.param).name);
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace hifp8
