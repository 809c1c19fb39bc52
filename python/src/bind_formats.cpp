// Format objects (the registry's traits records), their lookup, and scale shapes.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "bindings.h"
#include "hifp8/quant/quantized_tensor.h"

namespace hifp8::python {

const FormatInfo& format_arg(const py::object& format) {
  if (py::isinstance<FormatInfo>(format)) return format.cast<const FormatInfo&>();
  if (!py::isinstance<py::str>(format))
    throw py::type_error("format must be a name such as 'hif8' or a hifp8.Format, got " +
                         std::string(Py_TYPE(format.ptr())->tp_name));
  return find_format(format.cast<std::string>());
}

Granularity granularity_arg(const std::string& text) { return Granularity::parse(text); }

void bind_formats(py::module_& m) {
  using namespace pybind11::literals;
  py::class_<FormatInfo>(m, "Format", "An 8-bit format of the registry (read-only).")
      .def_property_readonly("name", [](const FormatInfo& f) { return std::string(f.name); })
      .def_property_readonly("summary", [](const FormatInfo& f) { return std::string(f.summary); })
      .def_readonly("bits", &FormatInfo::bits)
      .def_readonly("is_integer", &FormatInfo::is_integer)
      .def_readonly("max_finite", &FormatInfo::max_finite, "Largest finite value")
      .def_readonly("min_normal", &FormatInfo::min_normal, "Smallest positive normal value")
      .def_readonly("min_subnormal", &FormatInfo::min_subnormal, "Smallest positive value")
      .def_readonly("has_inf", &FormatInfo::has_inf)
      .def_property_readonly("nan_codes", [](const FormatInfo& f) { return std::string(f.nan_codes); },
                             "Which codes are NaN ('none' for INT8)")
      .def_property_readonly("rounding", [](const FormatInfo& f) {
        return f.rounding == Rounding::nearest_ties_even ? "nearest_ties_even" : "nearest_ties_away";
      })
      .def_property_readonly("default_target", [](const FormatInfo& f) { return default_target(f); },
                             "The value a group's amax is scaled to by default (max finite; HiF8: 16)")
      .def("values", [](const FormatInfo& f) {
        py::array_t<float> v(256);
        std::copy(f.decode_table.begin(), f.decode_table.end(), v.mutable_data());
        return v;
      }, "The value of each of the 256 codes as a float32 array (NaN codes are NaN).")
      .def("__repr__", [](const FormatInfo& f) { return "hifp8.Format('" + std::string(f.name) + "')"; })
      .def("__eq__", [](const FormatInfo& a, const FormatInfo& b) { return &a == &b; })
      .def("__hash__", [](const FormatInfo& f) { return std::hash<std::string_view>{}(f.name); });

  m.def("formats", [] {
    std::vector<const FormatInfo*> list;
    for (const FormatInfo& f : all_formats()) list.push_back(&f);
    return list;
  }, py::return_value_policy::reference, "Every registered format.");
  m.def("format_info", [](const py::object& format) -> const FormatInfo& { return format_arg(format); },
        "format"_a, py::return_value_policy::reference,
        "The format of this name or alias ('hif8', 'e4m3', 'fp8_e5m2', 'int8', ...); hifp8.Error if unknown.");
  py::class_<Granularity>(m, "Granularity", "How many elements share one scale, parsed from 'tensor', 'channel', "
                                            "'token', 'group:N' or 'block:RxC'.")
      .def(py::init(&granularity_arg), "text"_a)
      .def_property_readonly("kind", [](const Granularity& g) {
        const std::string text = g.to_string();
        return text.substr(0, text.find(':'));
      }, "'tensor', 'channel', 'token', 'group' or 'block'")
      .def_readonly("group_size", &Granularity::group_size, "Elements per group (kind 'group')")
      .def_readonly("block_rows", &Granularity::block_rows, "Rows per block (kind 'block')")
      .def_readonly("block_cols", &Granularity::block_cols, "Columns per block (kind 'block')")
      .def("scale_shape", [](const Granularity& g, const std::vector<int64_t>& shape) {
        return py::tuple(py::cast(g.scale_shape(shape)));
      }, "shape"_a, "The shape of the scales for a tensor of `shape`.")
      .def("__str__", &Granularity::to_string)
      .def("__repr__", [](const Granularity& g) { return "hifp8.Granularity('" + g.to_string() + "')"; });

  m.def("scale_shape", [](const std::vector<int64_t>& shape, const std::string& granularity) {
    return py::tuple(py::cast(granularity_arg(granularity).scale_shape(shape)));
  }, "shape"_a, "granularity"_a,
        "The shape of the scales `granularity` gives a tensor of `shape` (tensor: (1,); channel/token: (rows, 1);\n"
        "group:N: (..., cols / N); block:RxC: (ceil(rows / R), ceil(cols / C))).");
}

}  // namespace hifp8::python
