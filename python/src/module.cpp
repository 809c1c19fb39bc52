// hifp8._core: the C++ core as a Python module. The public API is re-exported by hifp8/__init__.py;
// docs/python.md describes it.
#include <regex>
#include <set>
#include <string>

#include "bindings.h"
#include "hifp8/error.h"

namespace {

// The core's messages name the CLI's options ("use --force to replace it"); from Python they name the
// keyword arguments instead ("use force=True to replace it").
std::string python_argument_names(const std::string& message) {
  static const std::set<std::string> switches = {"force", "allow_nonfinite", "include_lm_head", "smooth_full"};
  static const std::regex option("--([a-z][a-z0-9-]*)");
  std::string out;
  auto last = message.cbegin();
  for (std::sregex_iterator it(message.begin(), message.end(), option), end; it != end; ++it) {
    std::string name = (*it)[1].str();
    for (char& c : name) c = c == '-' ? '_' : c;
    out.append(last, (*it)[0].first).append(switches.count(name) ? name + "=True" : name);
    last = (*it)[0].second;
  }
  return out.append(last, message.cend());
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  namespace py = pybind11;
  m.doc() = "hifp8 core: 8-bit formats (HiF8, OCP FP8, INT8), quantization and checkpoint conversion";
  m.attr("__version__") = HIFP8_VERSION;
  // Errors on user input (a bad format name, shape or file) raise hifp8.Error, a ValueError.
  static py::exception<hifp8::Error> error(m, "Error", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const hifp8::Error& e) {
      error(python_argument_names(e.what()).c_str());
    }
  });
  hifp8::python::bind_formats(m);
  hifp8::python::bind_codec(m);
  hifp8::python::bind_quantized_tensor(m);
  hifp8::python::bind_checkpoint(m);
  hifp8::python::bind_cuda(m);
}
