#pragma once
// numpy arrays in and out of the core without copies: the element type of a wide array (float32,
// float16, or bfloat16 held as uint16 bit patterns, as numpy has no bfloat16), C-contiguous views of
// inputs (a copy only when the input is not contiguous), and checked `out=` arrays.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hifp8/kernel/array_ops.h"

namespace hifp8::python {

namespace py = pybind11;

// "float32", "uint8", ... for messages.
std::string dtype_name(const py::dtype& dtype);
// The wide element type of a numpy dtype, or a TypeError naming the dtypes that are accepted.
kernel::DType wide_dtype_of(const py::dtype& dtype, const char* argument);
// The numpy dtype that holds `dtype` (bfloat16: uint16).
py::dtype numpy_dtype(kernel::DType dtype);
// "float32" / "float16" / "bfloat16" (also "f32", "bf16", ...) -> DType; ValueError otherwise.
kernel::DType parse_wide_dtype(const std::string& name);

std::vector<int64_t> shape_of(const py::array& a);

// A C-contiguous view of `obj` (the object itself when it already is one).
py::array contiguous(const py::object& obj, const char* argument);

// A wide input array: its data, element type and shape.
struct WideInput {
  py::array array;  // keeps the (possibly copied) data alive
  kernel::DType dtype;
  std::vector<int64_t> shape;
  size_t size() const { return static_cast<size_t>(array.size()); }
  const void* data() const { return array.data(); }
};
WideInput wide_input(const py::object& obj, const char* argument);

// A C-contiguous uint8 array of codes, or a TypeError.
py::array codes_input(const py::object& obj);

// `out` when given (checked: C-contiguous, writeable, this dtype and shape), else a new array.
py::array output_array(const std::optional<py::array>& out, const py::dtype& dtype, const std::vector<int64_t>& shape);

// The input as float32 values: the array's own memory for float32, else a widened copy in `storage`.
const float* as_float32(const WideInput& in, std::vector<float>& storage);

}  // namespace hifp8::python
