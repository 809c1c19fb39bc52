// QuantizedTensor: 8-bit codes plus float32 scales, made by quantize() or from existing arrays (a
// checkpoint's weight and weight_scale). codes and scales are numpy views of the object's own memory.
#include <pybind11/stl.h>

#include <optional>
#include <vector>

#include "bindings.h"
#include "hifp8/quant/quantized_tensor.h"
#include "numpy_arrays.h"

namespace hifp8::python {
namespace {

using namespace pybind11::literals;

NonFinitePolicy parse_nonfinite(const std::string& text) {
  if (text == "error") return NonFinitePolicy::error;
  if (text == "clamp") return NonFinitePolicy::clamp;
  throw py::value_error("nonfinite must be 'error' or 'clamp', got '" + text + "'");
}

QuantizedTensor quantize_array(const py::object& x, const py::object& format, const std::string& granularity,
                               float target, const std::string& nonfinite, int threads) {
  const FormatInfo& f = format_arg(format);
  const Granularity g = granularity_arg(granularity);
  const WideInput in = wide_input(x, "x");
  const NonFinitePolicy policy = parse_nonfinite(nonfinite);
  py::gil_scoped_release nogil;
  std::vector<float> storage;
  const float* values = as_float32(in, storage);
  return quantize({values, in.size()}, in.shape, f, g, {.target = target, .nonfinite = policy, .threads = threads});
}

QuantizedTensor from_arrays(const py::object& codes, const py::object& scales, const py::object& format,
                            const std::string& granularity) {
  QuantizedTensor t;
  t.format = &format_arg(format);
  t.granularity = granularity_arg(granularity);
  const py::array c = codes_input(codes);
  t.shape = shape_of(c);
  t.scale_shape = t.granularity.scale_shape(t.shape);
  const auto s = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(scales);
  if (!s) throw py::type_error("scales must be an array of float32 values");
  if (size_t(s.size()) != numel(t.scale_shape))
    throw py::value_error("granularity " + t.granularity.to_string() + " needs " + std::to_string(numel(t.scale_shape)) +
                          " scales for these codes, got " + std::to_string(s.size()));
  const auto* bytes = static_cast<const uint8_t*>(c.data());
  t.codes.assign(bytes, bytes + c.size());
  t.scales.assign(s.data(), s.data() + s.size());
  return t;
}

// A numpy array over memory owned by `owner` (which it keeps alive).
template <class T>
py::array view(const std::vector<T>& data, const std::vector<int64_t>& shape, const py::object& owner) {
  const std::vector<py::ssize_t> dims(shape.begin(), shape.end());
  if (data.empty()) return py::array(py::dtype::of<T>(), dims);
  return py::array(py::dtype::of<T>(), dims, data.data(), owner);
}

py::array dequantize_array(const QuantizedTensor& t, const std::string& dtype, int threads) {
  const kernel::DType d = parse_wide_dtype(dtype);
  py::array out(numpy_dtype(d), std::vector<py::ssize_t>(t.shape.begin(), t.shape.end()));
  void* dst = out.mutable_data();
  {
    py::gil_scoped_release nogil;
    if (d == kernel::DType::f32) {
      dequantize(t, {static_cast<float*>(dst), t.numel()}, threads);
    } else {
      const std::vector<float> values = dequantize(t, threads);
      kernel::narrow(values.data(), dst, d, values.size(), threads);
    }
  }
  return out;
}

}  // namespace

void bind_quantized_tensor(py::module_& m) {
  py::class_<QuantizedTensor>(m, "QuantizedTensor",
                              "A tensor held as 8-bit codes plus float32 scales: x ~= decode(code) * scale.")
      .def(py::init(&from_arrays), "codes"_a, "scales"_a, "format"_a, "granularity"_a,
           "From existing codes (uint8, the tensor's shape) and scales (scale_shape(codes.shape, granularity) of them).")
      .def_property_readonly("format", [](const QuantizedTensor& t) -> const FormatInfo& { return *t.format; },
                             py::return_value_policy::reference)
      .def_property_readonly("granularity", [](const QuantizedTensor& t) { return t.granularity.to_string(); })
      .def_property_readonly("shape", [](const QuantizedTensor& t) { return py::tuple(py::cast(t.shape)); })
      .def_property_readonly("scale_shape", [](const QuantizedTensor& t) { return py::tuple(py::cast(t.scale_shape)); })
      .def_property_readonly("codes", [](const py::object& self) {
        const auto& t = self.cast<const QuantizedTensor&>();
        return view(t.codes, t.shape, self);
      }, "The codes, a uint8 array of the tensor's shape (a view of this object's memory).")
      .def_property_readonly("scales", [](const py::object& self) {
        const auto& t = self.cast<const QuantizedTensor&>();
        return view(t.scales, t.scale_shape, self);
      }, "The scales, a float32 array of scale_shape (a view of this object's memory).")
      .def_property_readonly("nbytes", [](const QuantizedTensor& t) { return t.codes.size() + 4 * t.scales.size(); })
      .def("dequantize", &dequantize_array, py::kw_only(), "dtype"_a = "float32", "threads"_a = 0,
           "decode(code) * scale as float32, float16 or bfloat16 (uint16 bit patterns, rounded to nearest even).")
      .def("__repr__", [](const QuantizedTensor& t) {
        return "hifp8.QuantizedTensor(format='" + std::string(t.format->name) + "', granularity='" +
               t.granularity.to_string() + "', shape=" + py::str(py::tuple(py::cast(t.shape))).cast<std::string>() + ")";
      });

  m.def("quantize", &quantize_array, "x"_a, "format"_a, "granularity"_a = "channel", py::kw_only(), "target"_a = 0.0f,
        "nonfinite"_a = "error", "threads"_a = 0,
        R"(Quantize an array: one scale per granularity group, scale = amax(group) / target (target 0: the
format's default, max finite or 16 for HiF8), codes = encode_saturate(x / scale). The codes and scales
are bit for bit those `hifp8 quantize` writes for a weight. nonfinite: 'error' (hifp8.Error naming the
position of a NaN/Inf) or 'clamp' (NaN -> 0, Inf -> the largest finite magnitude).)");
}

}  // namespace hifp8::python
