// encode / decode / fake_quant over numpy arrays: inputs are read in place (no copy when C-contiguous),
// outputs are new arrays or the caller's `out`, and the GIL is released while the kernels run.
#include <pybind11/stl.h>

#include <optional>
#include <vector>

#include "bindings.h"
#include "hifp8/quant/quantized_tensor.h"
#include "numpy_arrays.h"

namespace hifp8::python {
namespace {

using namespace pybind11::literals;

py::array encode(const py::object& x, const py::object& format, bool saturate, const std::optional<py::array>& out,
                 int threads) {
  const FormatInfo& f = format_arg(format);
  const WideInput in = wide_input(x, "x");
  py::array codes = output_array(out, py::dtype::of<uint8_t>(), in.shape);
  auto* dst = static_cast<uint8_t*>(codes.mutable_data());
  {
    py::gil_scoped_release nogil;
    kernel::encode(f, in.data(), in.dtype, dst, in.size(), {saturate ? Overflow::saturate : Overflow::plain, threads});
  }
  return codes;
}

py::array decode(const py::object& codes, const py::object& format, const std::string& dtype,
                 const std::optional<py::array>& out, int threads) {
  const FormatInfo& f = format_arg(format);
  const py::array c = codes_input(codes);
  const kernel::DType d = parse_wide_dtype(dtype);
  py::array values = output_array(out, numpy_dtype(d), shape_of(c));
  const auto* src = static_cast<const uint8_t*>(c.data());
  void* dst = values.mutable_data();
  {
    py::gil_scoped_release nogil;
    kernel::decode(f, src, dst, d, size_t(c.size()), threads);
  }
  return values;
}

// `scale`: None (dynamic), a number (every group's scale) or an array of scale_shape's size.
std::vector<float> scale_values(const py::object& scale, size_t count) {
  if (scale.is_none()) return {};
  if (py::isinstance<py::float_>(scale) || py::isinstance<py::int_>(scale))
    return std::vector<float>(count, scale.cast<float>());
  const auto a = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(scale);
  if (!a) throw py::type_error("scale must be None, a number or an array of float32 scales");
  return std::vector<float>(a.data(), a.data() + a.size());
}

py::array fake_quant(const py::object& x, const py::object& format, const std::string& granularity,
                     const py::object& scale, float target, const std::optional<py::array>& out, int threads) {
  const FormatInfo& f = format_arg(format);
  const Granularity g = granularity_arg(granularity);
  const WideInput in = wide_input(x, "x");
  const std::vector<float> scales = scale_values(scale, numel(g.scale_shape(in.shape)));
  py::array result = output_array(out, numpy_dtype(in.dtype), in.shape);
  const size_t n = in.size();
  void* dst = result.mutable_data();
  {
    py::gil_scoped_release nogil;
    const QuantOptions options{.target = target, .threads = threads};
    if (in.dtype == kernel::DType::f32) {
      fake_quantize({static_cast<const float*>(in.data()), n}, in.shape, f, g, scales, {static_cast<float*>(dst), n},
                    options);
    } else {  // widen, fake-quantize in float32, round back to the input's type
      std::vector<float> work;
      as_float32(in, work);
      fake_quantize(work, in.shape, f, g, scales, work, options);
      kernel::narrow(work.data(), dst, in.dtype, n, threads);
    }
  }
  return result;
}

}  // namespace

void bind_codec(py::module_& m) {
  m.def("encode", &encode, "x"_a, "format"_a, py::kw_only(), "saturate"_a = false, "out"_a = py::none(),
        "threads"_a = 0,
        R"(Encode a float32 / float16 / bfloat16 (uint16 bits) array to 8-bit codes, element by element (no scale).

Bit for bit the codes of `hifp8 encode`. Without `saturate`, overflow gives the format's Inf (or NaN
where it has none), like PyTorch's casts; with it, +-max finite. Returns a uint8 array of x's shape
(or fills `out`). threads=0 uses all cores.)");
  m.def("decode", &decode, "codes"_a, "format"_a, py::kw_only(), "dtype"_a = "float32", "out"_a = py::none(),
        "threads"_a = 0,
        R"(Decode a uint8 array of codes to float32, float16 or bfloat16 (returned as uint16 bit patterns).

Exact for every dtype: every value of every format is a bfloat16 and a float16 value.)");
  m.def("fake_quant", &fake_quant, "x"_a, "format"_a, py::kw_only(), "granularity"_a = "tensor",
        "scale"_a = py::none(), "target"_a = 0.0f, "out"_a = py::none(), "threads"_a = 0,
        R"(Quantize and dequantize in one step: decode(encode_saturate(x / s)) * s, in x's dtype.

granularity: tensor, channel, token, group:N or block:RxC over the last (two) dimensions.
scale: None computes each group's scale as quantize() does (amax / target, target 0 meaning the
format's default); a number or an array of scale_shape(x.shape, granularity) scales uses those.
NaN/Inf are not refused (Inf saturates). out may be x itself (in place).)");
}

}  // namespace hifp8::python
