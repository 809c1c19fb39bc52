// Every fast encoder (SIMD math, SIMD prefix table, multithreaded array API) against the scalar
// definition over all 2^32 float32 bit patterns, in both overflow modes. Labelled `exhaustive`.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <vector>

#include "hifp8/format/bits.h"
#include "hifp8/format/format.h"
#include "hifp8/kernel/array_ops.h"
#include "hifp8/kernel/parallel.h"

namespace hifp8 {
namespace {

constexpr uint64_t kChunk = uint64_t{1} << 20;
constexpr uint64_t kAll = uint64_t{1} << 32;

// Returns the number of mismatching inputs (reporting the first few).
uint64_t compare_all_inputs(const FormatInfo& format, Overflow overflow, kernel::EncodePath path) {
  std::atomic<uint64_t> mismatches{0};
  std::atomic<int> reported{0};
  const FormatInfo::EncodeFn reference = overflow == Overflow::saturate ? format.encode_saturate : format.encode_plain;
  kernel::parallel_for(kAll / kChunk, 0, [&](size_t begin, size_t end) {
    std::vector<float> in(kChunk);
    std::vector<uint8_t> fast(kChunk);
    for (size_t c = begin; c < end; ++c) {
      const uint32_t base = static_cast<uint32_t>(c * kChunk);
      for (uint32_t i = 0; i < kChunk; ++i) in[i] = f32_from_bits(base + i);
      kernel::encode(format, in.data(), fast.data(), kChunk, {overflow, 1, path});
      for (uint32_t i = 0; i < kChunk; ++i) {
        const uint8_t expected = reference(in[i]);
        if (fast[i] == expected) continue;
        mismatches.fetch_add(1);
        if (reported.fetch_add(1) < 5)
          ADD_FAILURE() << format.name << " " << kernel::encode_path_name(path) << " input 0x" << std::hex
                        << (base + i) << ": got 0x" << int(fast[i]) << ", scalar 0x" << int(expected);
      }
    }
  }, 1);
  return mismatches.load();
}

struct Case {
  FormatId format;
  kernel::EncodePath path;
};

class Exhaustive : public testing::TestWithParam<Case> {};

TEST_P(Exhaustive, FastPathEqualsScalarOnAllFloat32Inputs) {
  const FormatInfo& f = format_info(GetParam().format);
  if (!kernel::has_encode_path(f, GetParam().path))
    GTEST_SKIP() << "this CPU has no " << kernel::encode_path_name(GetParam().path) << " encoder for " << f.name
                 << " (the vperm encoders need AVX-512BW)";
  for (Overflow o : {Overflow::plain, Overflow::saturate}) {
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(compare_all_inputs(f, o, GetParam().path), 0u);
    std::fprintf(stderr, "%s %s %s: 2^32 inputs in %.1f s\n", std::string(f.name).c_str(),
                 std::string(kernel::encode_path_name(GetParam().path)).c_str(),
                 o == Overflow::plain ? "plain" : "saturate",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
}

INSTANTIATE_TEST_SUITE_P(FastPaths, Exhaustive,
                         testing::Values(Case{FormatId::hif8, kernel::EncodePath::vperm},
                                         Case{FormatId::hif8_rank, kernel::EncodePath::vperm},
                                         Case{FormatId::hif8, kernel::EncodePath::math},
                                         Case{FormatId::hif8, kernel::EncodePath::lut},
                                         Case{FormatId::hif8_rank, kernel::EncodePath::lut},
                                         Case{FormatId::fp8_e4m3fn, kernel::EncodePath::math},
                                         Case{FormatId::fp8_e5m2, kernel::EncodePath::math},
                                         Case{FormatId::int8, kernel::EncodePath::math}),
                         [](const auto& info) {
                           std::string name = std::string(format_info(info.param.format).name) + "_" +
                                              std::string(kernel::encode_path_name(info.param.path));
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace hifp8
