#pragma once
// Integer dot products for W8A8 INT8 decoding: AVX-512 VNNI (vpdpbusd: 64 byte products a step), and
// AVX2 (bytes widened to 16 bits, vpmaddwd: 16 products an instruction) where the dispatch is AVX2.
#include <cstddef>
#include <cstdint>

namespace hifp8::kernel::avx512 {

bool vnni_available();  // the CPU has AVX-512 VNNI (and BW)
// sum a[i] * b[i] with a[i] in [-127, 127] (INT8 activations) and any b[i]; exact for n < 2^16.
int32_t dot_i8(const int8_t* a, const int8_t* b, size_t n);

}  // namespace hifp8::kernel::avx512

namespace hifp8::kernel::avx2 {

bool dot_i8_available();  // the CPU has AVX2 and Highway's chosen target is AVX2 or better
// sum a[i] * b[i], exact (16-bit products summed in 32 bits) for n < 2^16.
int32_t dot_i8(const int8_t* a, const int8_t* b, size_t n);

}  // namespace hifp8::kernel::avx2
