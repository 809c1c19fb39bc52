#pragma once
// Element types of safetensors files.
#include <cstddef>
#include <string>
#include <string_view>

#include "hifp8/kernel/array_ops.h"

namespace hifp8::io {

enum class TensorDType { F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, BOOL };

std::string_view dtype_name(TensorDType dtype);  // "BF16", as in safetensors headers
size_t dtype_size(TensorDType dtype);
// Throws Error naming the text for an unknown dtype.
TensorDType parse_tensor_dtype(std::string_view name);
bool is_float_wide(TensorDType dtype);  // F32, F16, BF16: what quantization reads
// The kernel element type of a float-wide dtype (f32, f16, bf16); Error for any other.
kernel::DType kernel_dtype(TensorDType dtype);

}  // namespace hifp8::io
