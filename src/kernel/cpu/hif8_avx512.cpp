// Why this works: HiF8 values are consecutive in the rank layout, so for |x| = 1.m * 2^e
//   rank = B(e) + round_ties_away(m4 / 2^d)      (m4: top 4 mantissa bits, d = 4 - mantissa bits of e)
// where B(e) is the rank of 2^e; a carry out of the mantissa lands exactly on B(e + 1). Only the top
// 4 mantissa bits matter (<= 3 are kept, ties go away from zero), so the upper 16 bits of each float
// suffice; the per-exponent values (B, d) and the rank -> Ascend map are small tables held in registers
// and looked up with vpermi2w. Overflow is a min() on the rank (126 = 32768, 127 = Inf).
#include "kernel/cpu/hif8_avx512.h"

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own _mm*_undefined_* placeholders.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <array>

#include "hifp8/format/bits.h"
#include "hifp8/format/hif8.h"
#include "hifp8/format/hif8_rank.h"
#include "kernel/cpu/simd.h"

namespace hifp8::kernel::avx512 {
namespace {

// Index: rel = clamp(biased exponent - 103, 0, 40), i.e. e + 24. Entry: B | d << 8 | half << 11.
// rel 0 (below 2^-23) and 1 ([2^-23, 2^-22)) use d = 5, whose rounding always adds 0.
constexpr std::array<uint16_t, 64> kExponentTable = [] {
  std::array<uint16_t, 64> t{};
  for (int rel = 0; rel < 64; ++rel) {
    const int e = rel - 24;
    int base = 0, d = 5;
    if (rel == 1) {
      base = 1;
    } else if (rel >= 2 && e <= hif8::kMaxExp) {
      base = hif8::kAscendToRank[hif8::encode<Overflow::plain>(f32_from_bits(uint32_t(e + 127) << 23))];
      d = 4 - hif8::mantissa_bits(e);
    } else if (rel > 1) {
      base = 128;  // 2^16 and above: past Inf, clamped by the overflow min()
    }
    t[rel] = uint16_t(base | d << 8 | (1 << d >> 1) << 11);
  }
  return t;
}();

constexpr std::array<uint16_t, 128> kRankToAscend = [] {
  std::array<uint16_t, 128> t{};
  for (int r = 0; r < 128; ++r) t[r] = hif8::kRankToAscend[r];
  return t;
}();

__attribute__((target("avx512f,avx512bw"))) inline __m512i load_words(const uint16_t* p) {
  return _mm512_loadu_si512(p);
}

}  // namespace

bool allowed() {
  // Asked per call (a dispatch-table read: cheap, unlike CPUID, which traps in a VM), so it follows
  // hwy::SetSupportedTargetsForTest.
  static const bool cpu = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  return cpu && simd::chosen_is_avx512();
}


__attribute__((target("avx512f,avx512bw"))) void encode_hif8(const float* in, uint8_t* out, size_t n, bool saturate,
                                                             bool rank_layout) {
  alignas(64) static constexpr std::array<uint16_t, 32> kHighHalves = [] {
    std::array<uint16_t, 32> idx{};
    for (int j = 0; j < 32; ++j) idx[j] = uint16_t(2 * j + 1);
    return idx;
  }();
  const __m512i high_halves = load_words(kHighHalves.data());
  const __m512i exp_lo = load_words(kExponentTable.data()), exp_hi = load_words(kExponentTable.data() + 32);
  const __m512i asc0 = load_words(kRankToAscend.data()), asc1 = load_words(kRankToAscend.data() + 32);
  const __m512i asc2 = load_words(kRankToAscend.data() + 64), asc3 = load_words(kRankToAscend.data() + 96);
  const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(int(kF32InfBits));
  const __m512i max_rank = _mm512_set1_epi16(saturate ? 126 : 127);
  const __m512i w103 = _mm512_set1_epi16(103), w40 = _mm512_set1_epi16(40), wff = _mm512_set1_epi16(0xff);
  const __m512i w7 = _mm512_set1_epi16(7), wf = _mm512_set1_epi16(0xf), w80 = _mm512_set1_epi16(0x80);
  const __m512i w64 = _mm512_set1_epi16(64), nan_code = _mm512_set1_epi16(hif8::kNan);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512i v0 = _mm512_loadu_si512(in + i), v1 = _mm512_loadu_si512(in + i + 16);
    // NaN needs all 32 bits (a payload may sit in the low half); everything else only the high half.
    const __mmask32 nan = _mm512_kunpackw(_mm512_cmpgt_epi32_mask(_mm512_and_si512(v1, abs_mask), inf),
                                          _mm512_cmpgt_epi32_mask(_mm512_and_si512(v0, abs_mask), inf));
    const __m512i h = _mm512_permutex2var_epi16(v0, high_halves, v1);
    const __m512i biased = _mm512_and_si512(_mm512_srli_epi16(h, 7), wff);
    const __m512i rel = _mm512_min_epu16(_mm512_subs_epu16(biased, w103), w40);
    const __m512i entry = _mm512_permutex2var_epi16(exp_lo, rel, exp_hi);
    const __m512i base = _mm512_and_si512(entry, wff);
    const __m512i d = _mm512_and_si512(_mm512_srli_epi16(entry, 8), w7);
    const __m512i half = _mm512_srli_epi16(entry, 11);
    const __m512i m4 = _mm512_and_si512(_mm512_srli_epi16(h, 3), wf);
    const __m512i q = _mm512_srlv_epi16(_mm512_add_epi16(m4, half), d);
    const __m512i rank = _mm512_min_epu16(_mm512_add_epi16(base, q), max_rank);
    __m512i code = rank;
    if (!rank_layout) {
      const __mmask32 upper = _mm512_test_epi16_mask(rank, w64);
      code = _mm512_mask_blend_epi16(upper, _mm512_permutex2var_epi16(asc0, rank, asc1),
                                     _mm512_permutex2var_epi16(asc2, rank, asc3));
    }
    const __m512i sign = _mm512_and_si512(_mm512_srli_epi16(h, 8), w80);
    code = _mm512_or_si512(code, _mm512_maskz_mov_epi16(_mm512_test_epi16_mask(rank, rank), sign));  // no -0
    code = _mm512_mask_mov_epi16(code, nan, nan_code);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm512_cvtepi16_epi8(code));
  }
  for (; i < n; ++i) {
    const uint8_t c = saturate ? hif8::encode<Overflow::saturate>(in[i]) : hif8::encode<Overflow::plain>(in[i]);
    out[i] = rank_layout ? hif8::kAscendToRank[c] : c;
  }
}

}  // namespace hifp8::kernel::avx512

namespace hifp8::kernel::avx512 {

namespace {

// 32 codes (zero-extended to words) looked up in a 256-entry bf16 table held in eight registers:
// vpermi2w picks among 64 entries by the low six bits, bits 6 and 7 choose among the four results.
__attribute__((target("avx512f,avx512bw"))) inline __m512i lookup32(const __m512i (&t)[8], __m512i c) {
  const __mmask32 upper64 = _mm512_test_epi16_mask(c, _mm512_set1_epi16(64));
  const __m512i low_half = _mm512_mask_blend_epi16(upper64, _mm512_permutex2var_epi16(t[0], c, t[1]),
                                                   _mm512_permutex2var_epi16(t[2], c, t[3]));
  const __m512i high_half = _mm512_mask_blend_epi16(upper64, _mm512_permutex2var_epi16(t[4], c, t[5]),
                                                    _mm512_permutex2var_epi16(t[6], c, t[7]));
  return _mm512_mask_blend_epi16(_mm512_test_epi16_mask(c, _mm512_set1_epi16(128)), low_half, high_half);
}

__attribute__((target("avx512f,avx512bw"))) inline void load_table(const uint16_t* table, __m512i (&t)[8]) {
  for (int k = 0; k < 8; ++k) t[k] = _mm512_loadu_si512(table + 32 * k);
}

// bf16 words -> two vectors of 16 floats.
__attribute__((target("avx512f,avx512bw"))) inline __m512 low_floats(__m512i w) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(w)), 16));
}
__attribute__((target("avx512f,avx512bw"))) inline __m512 high_floats(__m512i w) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(w, 1)), 16));
}

__attribute__((target("avx512f,avx512bw"))) inline __m512i load_codes(const uint8_t* p) {
  return _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

}  // namespace

__attribute__((target("avx512f,avx512bw"))) void decode_bf16_table(const uint8_t* in, float* out, size_t n,
                                                                   const uint16_t* table) {
  __m512i t[8];
  load_table(table, t);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512i w = lookup32(t, load_codes(in + i));
    _mm512_storeu_ps(out + i, low_floats(w));
    _mm512_storeu_ps(out + i + 16, high_floats(w));
  }
  for (; i < n; ++i) out[i] = bf16_to_f32(table[in[i]]);
}

__attribute__((target("avx512f,avx512bw"))) float dot_bf16_table(const float* x, const uint8_t* codes, size_t n,
                                                                 const uint16_t* table) {
  __m512i t[8];
  load_table(table, t);
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
  size_t i = 0;
  // 64 codes a step: two independent lookups and four accumulators keep the FMA chains apart.
  for (; i + 64 <= n; i += 64) {
    const __m512i w0 = lookup32(t, load_codes(codes + i)), w1 = lookup32(t, load_codes(codes + i + 32));
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), low_floats(w0), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), high_floats(w0), s1);
    s2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 32), low_floats(w1), s2);
    s3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 48), high_floats(w1), s3);
  }
  for (; i + 32 <= n; i += 32) {
    const __m512i w = lookup32(t, load_codes(codes + i));
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), low_floats(w), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), high_floats(w), s1);
  }
  float sum = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
  for (; i < n; ++i) sum += x[i] * bf16_to_f32(table[codes[i]]);
  return sum;
}

bool vbmi_available() {
  static const bool cpu = __builtin_cpu_supports("avx512vbmi");
  return cpu && allowed();
}

// 64 codes a step: vpermb puts the codes where the byte interleave below leaves their float16 words in
// order; two vpermi2b look up the low and high bytes of each magnitude's float16 (the index's bit 7,
// the sign, is ignored), the sign is or-ed in, code 0x80 patched to NaN where it is one, and vcvtph2ps
// widens.
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) float dot_f16_magnitudes(const float* x, const uint8_t* codes,
                                                                               size_t n, const uint8_t* f16_lo,
                                                                               const uint8_t* f16_hi, bool nan_at_0x80,
                                                                               const float* table) {
  alignas(64) static constexpr std::array<uint8_t, 64> kOrder = [] {
    // unpacklo/hi interleave bytes 0-7 / 8-15 of each 128-bit lane: lane L of the low result must hold
    // elements 8L..8L+7, lane L of the high result elements 32 + 8L..
    std::array<uint8_t, 64> o{};
    for (int lane = 0; lane < 4; ++lane)
      for (int j = 0; j < 8; ++j) o[size_t(16 * lane + j)] = uint8_t(8 * lane + j), o[size_t(16 * lane + 8 + j)] = uint8_t(32 + 8 * lane + j);
    return o;
  }();
  const __m512i order = _mm512_load_si512(kOrder.data());
  const __m512i lo0 = _mm512_loadu_si512(f16_lo), lo1 = _mm512_loadu_si512(f16_lo + 64);
  const __m512i hi0 = _mm512_loadu_si512(f16_hi), hi1 = _mm512_loadu_si512(f16_hi + 64);
  const __m512i sign = _mm512_set1_epi8(char(0x80));
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i c = _mm512_permutexvar_epi8(order, _mm512_loadu_si512(codes + i));
    const __mmask64 nan = nan_at_0x80 ? _mm512_cmpeq_epi8_mask(c, sign) : __mmask64{0};
    const __m512i lo = _mm512_maskz_permutex2var_epi8(~nan, lo0, c, lo1);
    const __m512i hi = _mm512_mask_mov_epi8(_mm512_or_si512(_mm512_permutex2var_epi8(hi0, c, hi1), _mm512_and_si512(c, sign)),
                                            nan, _mm512_set1_epi8(0x7E));
    const __m512i w0 = _mm512_unpacklo_epi8(lo, hi), w1 = _mm512_unpackhi_epi8(lo, hi);
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_cvtph_ps(_mm512_castsi512_si256(w0)), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_cvtph_ps(_mm512_extracti64x4_epi64(w0, 1)), s1);
    s2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 32), _mm512_cvtph_ps(_mm512_castsi512_si256(w1)), s2);
    s3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 48), _mm512_cvtph_ps(_mm512_extracti64x4_epi64(w1, 1)), s3);
  }
  float sum = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
  for (; i < n; ++i) sum += x[i] * table[codes[i]];
  return sum;
}

}  // namespace hifp8::kernel::avx512
