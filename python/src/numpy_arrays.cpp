#include "numpy_arrays.h"

namespace hifp8::python {

std::string dtype_name(const py::dtype& dtype) { return dtype.attr("name").cast<std::string>(); }

kernel::DType wide_dtype_of(const py::dtype& dtype, const char* argument) {
  if (dtype.is(py::dtype::of<float>())) return kernel::DType::f32;
  if (dtype.is(py::dtype("float16"))) return kernel::DType::f16;
  if (dtype.is(py::dtype::of<uint16_t>())) return kernel::DType::bf16;
  // ml_dtypes.bfloat16 arrays (as JAX and ml_dtypes users hold them) have the same bits.
  if (dtype_name(dtype) == "bfloat16") return kernel::DType::bf16;
  throw py::type_error(std::string(argument) + " must be a float32, float16 or bfloat16 (uint16 bit patterns) array, got " +
                       dtype_name(dtype) + " (convert float64 with .astype(numpy.float32))");
}

py::dtype numpy_dtype(kernel::DType dtype) {
  switch (dtype) {
    case kernel::DType::f32: return py::dtype::of<float>();
    case kernel::DType::f16: return py::dtype("float16");
    case kernel::DType::bf16: return py::dtype::of<uint16_t>();
  }
  return py::dtype::of<float>();
}

kernel::DType parse_wide_dtype(const std::string& name) {
  try {
    return kernel::parse_dtype(name);
  } catch (const std::exception&) {
    throw py::value_error("dtype must be float32, float16 or bfloat16, got '" + name + "'");
  }
}

std::vector<int64_t> shape_of(const py::array& a) {
  return std::vector<int64_t>(a.shape(), a.shape() + a.ndim());
}

py::array contiguous(const py::object& obj, const char* argument) {
  py::array a = py::array::ensure(obj, py::array::c_style);  // the object itself when already C-contiguous
  if (!a) throw py::type_error(std::string(argument) + " must be a numpy array (or support the buffer protocol)");
  return a;
}

WideInput wide_input(const py::object& obj, const char* argument) {
  py::array a = contiguous(obj, argument);
  const kernel::DType dtype = wide_dtype_of(a.dtype(), argument);
  return {a, dtype, shape_of(a)};
}

py::array codes_input(const py::object& obj) {
  py::array c = contiguous(obj, "codes");
  if (!c.dtype().is(py::dtype::of<uint8_t>())) throw py::type_error("codes must be a uint8 array, got " + dtype_name(c.dtype()));
  return c;
}

py::array output_array(const std::optional<py::array>& out, const py::dtype& dtype, const std::vector<int64_t>& shape) {
  if (!out) return py::array(dtype, std::vector<py::ssize_t>(shape.begin(), shape.end()));
  const py::array& o = *out;
  if (!o.dtype().is(dtype))
    throw py::type_error("out must have dtype " + dtype_name(dtype) + ", got " +
                         dtype_name(o.dtype()));
  if (shape_of(o) != shape) throw py::value_error("out has the wrong shape");
  if (!(o.flags() & py::array::c_style)) throw py::value_error("out must be C-contiguous");
  if (!o.writeable()) throw py::value_error("out is read-only");
  return o;
}

const float* as_float32(const WideInput& in, std::vector<float>& storage) {
  if (in.dtype == kernel::DType::f32) return static_cast<const float*>(in.data());
  storage.resize(in.size());
  kernel::widen(in.data(), in.dtype, storage.data(), in.size());
  return storage.data();
}

}  // namespace hifp8::python
