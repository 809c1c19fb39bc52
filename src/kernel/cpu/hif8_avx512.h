#pragma once
// HiF8 encoder on AVX-512BW with in-register tables (no gathers): 32 values per step in 16-bit lanes.
#include <cstddef>
#include <cstdint>

namespace hifp8::kernel::avx512 {

// The AVX-512 kernels may run: the CPU has AVX-512F/BW and Highway's supported targets still include an
// AVX-512 one (hwy::SetSupportedTargetsForTest in the tests, HIFP8_SIMD at run time narrow them), so
// every kernel follows one choice of instruction set. Gates every function below.
bool allowed();

// rank_layout: emit the rank-ordered codes instead of the Ascend ones. Tail through the scalar definition.
void encode_hif8(const float* in, uint8_t* out, size_t n, bool saturate, bool rank_layout);

}  // namespace hifp8::kernel::avx512

namespace hifp8::kernel::avx512 {

// Decode through a 256-entry table of bfloat16 bit patterns held in registers: exact for formats whose
// every value is a bfloat16 value (all registered ones: <= 7 significant bits, exponents in range).
void decode_bf16_table(const uint8_t* in, float* out, size_t n, const uint16_t* table);
// sum of x[i] * table value of codes[i]: the W8A16 dot product of a decoding step. Two vpermi2w
// table steps per 32 codes instead of the eight 16-entry shuffles an AVX2 lookup needs.
float dot_bf16_table(const float* x, const uint8_t* codes, size_t n, const uint16_t* table);

// The CPU has AVX-512 VBMI (byte permutes) as well as BW.
bool vbmi_available();
// The dot product of a sign-magnitude float8 format (HiF8, E4M3FN, E5M2) from the float16 bytes of its
// 128 magnitudes (f16_lo/f16_hi[magnitude]): two byte permutes per 64 codes and the hardware float16
// widening; nan_at_0x80 for HiF8 (whose 0x80 is NaN, not -0); `table` (the 256 values) for the tail.
float dot_f16_magnitudes(const float* x, const uint8_t* codes, size_t n, const uint8_t* f16_lo, const uint8_t* f16_hi,
                         bool nan_at_0x80, const float* table);

}  // namespace hifp8::kernel::avx512
