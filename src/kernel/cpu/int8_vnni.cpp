#include "kernel/cpu/int8_vnni.h"

#include "kernel/cpu/hif8_avx512.h"
#include "kernel/cpu/simd.h"

// GCC 12's AVX-512 intrinsic headers trip its own uninitialized-use warnings (the reductions'
// extract intrinsics start from an undefined vector).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

namespace hifp8::kernel::avx512 {

bool vnni_available() {
  static const bool cpu = __builtin_cpu_supports("avx512vnni");
  return cpu && allowed();
}

// vpdpbusd multiplies unsigned by signed bytes: a + 128 (in [1, 255]) times b, minus 128 * sum b
// (counted with a second vpdpbusd against ones). Two accumulator pairs keep two chains in flight.
__attribute__((target("avx512f,avx512bw,avx512vnni"))) int32_t dot_i8(const int8_t* a, const int8_t* b, size_t n) {
  const __m512i flip = _mm512_set1_epi8(char(0x80)), ones = _mm512_set1_epi8(1);
  __m512i acc0 = _mm512_setzero_si512(), acc1 = acc0, sum0 = acc0, sum1 = acc0;
  size_t i = 0;
  for (; i + 128 <= n; i += 128) {
    const __m512i b0 = _mm512_loadu_si512(b + i), b1 = _mm512_loadu_si512(b + i + 64);
    acc0 = _mm512_dpbusd_epi32(acc0, _mm512_xor_si512(_mm512_loadu_si512(a + i), flip), b0);
    acc1 = _mm512_dpbusd_epi32(acc1, _mm512_xor_si512(_mm512_loadu_si512(a + i + 64), flip), b1);
    sum0 = _mm512_dpbusd_epi32(sum0, ones, b0);
    sum1 = _mm512_dpbusd_epi32(sum1, ones, b1);
  }
  for (; i + 64 <= n; i += 64) {
    const __m512i b0 = _mm512_loadu_si512(b + i);
    acc0 = _mm512_dpbusd_epi32(acc0, _mm512_xor_si512(_mm512_loadu_si512(a + i), flip), b0);
    sum0 = _mm512_dpbusd_epi32(sum0, ones, b0);
  }
  int32_t total = _mm512_reduce_add_epi32(_mm512_add_epi32(acc0, acc1)) -
                  128 * _mm512_reduce_add_epi32(_mm512_add_epi32(sum0, sum1));
  for (; i < n; ++i) total += int32_t(a[i]) * b[i];
  return total;
}

}  // namespace hifp8::kernel::avx512

namespace hifp8::kernel::avx2 {

bool dot_i8_available() {
  static const bool cpu = __builtin_cpu_supports("avx2");
  return cpu && simd::chosen_is_at_least_avx2();
}

// 32 bytes a step: each operand sign-extended to two vectors of 16-bit lanes, vpmaddwd sums adjacent
// products into 32-bit lanes (no saturation, unlike vpmaddubsw).
__attribute__((target("avx2"))) int32_t dot_i8(const int8_t* a, const int8_t* b, size_t n) {
  __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i));
    const __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i));
    acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm256_castsi256_si128(va)),
                                                    _mm256_cvtepi8_epi16(_mm256_castsi256_si128(vb))));
    acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm256_extracti128_si256(va, 1)),
                                                    _mm256_cvtepi8_epi16(_mm256_extracti128_si256(vb, 1))));
  }
  const __m256i acc = _mm256_add_epi32(acc0, acc1);
  __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
  sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, 0x4e));
  sum = _mm_add_epi32(sum, _mm_shuffle_epi32(sum, 0xb1));
  int32_t total = _mm_cvtsi128_si32(sum);
  for (; i < n; ++i) total += int32_t(a[i]) * b[i];
  return total;
}

}  // namespace hifp8::kernel::avx2
