#pragma once
// The pieces of the hifp8._core module, one file each; module.cpp puts them together.
#include <pybind11/pybind11.h>

#include "hifp8/format/format.h"
#include "hifp8/format/granularity.h"

namespace hifp8::python {

namespace py = pybind11;

// A `format` argument: a Format object or a name ("hif8", "e4m3", ...).
const FormatInfo& format_arg(const py::object& format);
// A `granularity` argument: "tensor", "channel", "token", "group:N", "block:RxC".
Granularity granularity_arg(const std::string& text);

void bind_formats(py::module_& m);            // Format, formats(), format_info(), scale_shape()
void bind_codec(py::module_& m);              // encode(), decode(), fake_quant()
void bind_quantized_tensor(py::module_& m);   // QuantizedTensor, quantize()
void bind_checkpoint(py::module_& m);         // schemes(), quantize_checkpoint()
void bind_cuda(py::module_& m);               // cuda_available(), the torch op's CUDA entry point

}  // namespace hifp8::python
