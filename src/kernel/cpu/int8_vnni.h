#pragma once
// Integer dot products on AVX-512 VNNI (vpdpbusd: 64 byte products a step), for W8A8 INT8 decoding.
#include <cstddef>
#include <cstdint>

namespace hifp8::kernel::avx512 {

bool vnni_available();  // the CPU has AVX-512 VNNI (and BW)
// sum a[i] * b[i] with a[i] in [-127, 127] (INT8 activations) and any b[i]; exact for n < 2^16.
int32_t dot_i8(const int8_t* a, const int8_t* b, size_t n);

}  // namespace hifp8::kernel::avx512
