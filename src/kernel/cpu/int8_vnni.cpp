#include "kernel/cpu/int8_vnni.h"

#include "kernel/cpu/hif8_avx512.h"

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
