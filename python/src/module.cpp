// hifp8._core: the C++ core as a Python module. The public API is re-exported by hifp8/__init__.py;
// docs/python.md describes it.
#include "bindings.h"
#include "hifp8/error.h"

PYBIND11_MODULE(_core, m) {
  namespace py = pybind11;
  m.doc() = "hifp8 core: 8-bit formats (HiF8, OCP FP8, INT8), quantization and checkpoint conversion";
  // Errors on user input (a bad format name, shape or file) raise hifp8.Error, a ValueError.
  m.attr("__version__") = HIFP8_VERSION;
  py::register_exception<hifp8::Error>(m, "Error", PyExc_ValueError);
  hifp8::python::bind_formats(m);
  hifp8::python::bind_codec(m);
  hifp8::python::bind_quantized_tensor(m);
  hifp8::python::bind_checkpoint(m);
  hifp8::python::bind_cuda(m);
}
