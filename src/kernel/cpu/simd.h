#pragma once
// Single-threaded vector kernels (Highway, dispatched at run time to the best instruction set the CPU
// has). Each handles any n: whole vectors first, then the tail through the scalar definition.
// The array API in array_ops.cpp splits work across threads and picks among these.
#include <cstddef>
#include <cstdint>

#include "hifp8/kernel/array_ops.h"

namespace hifp8::kernel::simd {

// Math encoders: the format's rounding written with integer vector ops.
void encode_hif8_math(const float* in, uint8_t* out, size_t n, bool saturate);
void encode_e4m3fn_math(const float* in, uint8_t* out, size_t n, bool saturate);
void encode_e5m2_math(const float* in, uint8_t* out, size_t n, bool saturate);
void encode_int8_math(const float* in, uint8_t* out, size_t n);

// Prefix-table encoder: lut[|x|_bits >> 19] is the magnitude code; NaN -> 0x80; sign as bit 7 of
// non-zero codes. Exact for formats with <= 3 mantissa bits and ties away from zero (HiF8).
void encode_prefix_lut(const float* in, uint8_t* out, size_t n, const uint32_t* lut);

void decode_table(const uint8_t* in, float* out, size_t n, const float* table);

// max over i of (bits(in[i]) & 0x7fffffff): the amax's bit pattern, >= 0x7f800000 if any non-finite.
uint32_t max_abs_bits(const float* in, size_t n);

// Error statistics of deq against x; codes equal to max_code_pos/neg count as saturated when
// |x| > |deq|.
ErrorSums error_stats(const float* x, const float* deq, const uint8_t* codes, size_t n, uint8_t max_code_pos,
                      uint8_t max_code_neg);

float dot(const float* a, const float* b, size_t n);
// kind 0: E4M3, 1: E5M2, 2: INT8, 3: table lookup (HiF8).
float dot_codes(const float* x, const uint8_t* codes, size_t n, int kind, const float* table);
float dot_bf16(const float* x, const uint16_t* w, size_t n);
// dot(x, decode(codes)) for HiF8 (Ascend layout) given the float16 bytes of its 128 magnitudes.
float dot_hif8(const float* x, const uint8_t* codes, size_t n, const uint8_t* f16_lo, const uint8_t* f16_hi,
               const float* table);
float fma_loop(size_t iterations, size_t* flops_per_iteration);
size_t panel_width();
// The target Highway dispatches to is an AVX-512 one (tests and HIFP8_SIMD can narrow it).
bool chosen_is_avx512();
bool chosen_is_at_least_avx2();
void panel_tile(const float* x, size_t x_stride, size_t tokens, const float* panel, size_t n, float* y, size_t y_stride,
                size_t valid, bool accumulate = false);

void divide(const float* in, float* out, size_t n, float divisor);
void multiply(const float* in, float* out, size_t n, float factor);
void exp_scaled(const float* in, float* out, size_t n, float shift, float scale);

void bf16_to_f32(const uint16_t* in, float* out, size_t n);
void f16_to_f32(const uint16_t* in, float* out, size_t n);
void f32_to_bf16(const float* in, uint16_t* out, size_t n);

}  // namespace hifp8::kernel::simd
