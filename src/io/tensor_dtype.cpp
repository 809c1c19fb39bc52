#include "hifp8/io/tensor_dtype.h"

#include <array>
#include <utility>

#include "hifp8/error.h"

namespace hifp8::io {
namespace {

struct DTypeInfo {
  TensorDType dtype;
  std::string_view name;
  size_t size;
};

constexpr std::array<DTypeInfo, 12> kDTypes = {{
    {TensorDType::F64, "F64", 8},   {TensorDType::F32, "F32", 4},         {TensorDType::F16, "F16", 2},
    {TensorDType::BF16, "BF16", 2}, {TensorDType::F8_E4M3, "F8_E4M3", 1}, {TensorDType::F8_E5M2, "F8_E5M2", 1},
    {TensorDType::I64, "I64", 8},   {TensorDType::I32, "I32", 4},         {TensorDType::I16, "I16", 2},
    {TensorDType::I8, "I8", 1},     {TensorDType::U8, "U8", 1},           {TensorDType::BOOL, "BOOL", 1},
}};

const DTypeInfo& info(TensorDType dtype) { return kDTypes[static_cast<size_t>(dtype)]; }

}  // namespace

std::string_view dtype_name(TensorDType dtype) { return info(dtype).name; }
size_t dtype_size(TensorDType dtype) { return info(dtype).size; }

TensorDType parse_tensor_dtype(std::string_view name) {
  for (const DTypeInfo& d : kDTypes)
    if (d.name == name) return d.dtype;
  throw Error("unknown tensor dtype '" + std::string(name) + "'");
}

bool is_float_wide(TensorDType dtype) {
  return dtype == TensorDType::F32 || dtype == TensorDType::F16 || dtype == TensorDType::BF16;
}

kernel::DType kernel_dtype(TensorDType d) {
  switch (d) {
    case TensorDType::F32: return kernel::DType::f32;
    case TensorDType::F16: return kernel::DType::f16;
    case TensorDType::BF16: return kernel::DType::bf16;
    default: throw Error("dtype " + std::string(dtype_name(d)) + " is not F32, F16 or BF16");
  }
}

}  // namespace hifp8::io
