#pragma once
// How an encoder treats values beyond the largest finite code. It is a template parameter of every
// scalar encoder (a compile-time choice, as in CUTLASS's NumericConverter) and a runtime option of
// the array kernels.
namespace hifp8 {

enum class Overflow {
  plain,     // like PyTorch's casts: overflow gives the format's Inf (or NaN where it has no Inf)
  saturate,  // clamp to +-max finite (NVIDIA's satfinite); what quantization uses
};

}  // namespace hifp8
