// The CUDA side of the torch op hifp8::fake_quant: raw device pointers and the caller's stream (the
// torch tensors stay on the GPU; PyTorch owns their memory). Without the CUDA backend the entry point
// says so.
#include <pybind11/stl.h>

#include "bindings.h"
#include "hifp8/quant/quantized_tensor.h"
#include "numpy_arrays.h"
#ifdef HIFP8_HAVE_CUDA
#include "hifp8/kernel/cuda.h"
#endif

namespace hifp8::python {

void bind_cuda(py::module_& m) {
  using namespace pybind11::literals;
#ifdef HIFP8_HAVE_CUDA
  m.def("cuda_available", &cuda::available, "True when this build has the CUDA backend and a GPU is usable.");
  m.def("cuda_device", &cuda::describe_device, "The GPU the CUDA backend uses, or why none is usable.");
  m.def("_cuda_fake_quant",
        [](uintptr_t in, uintptr_t out, const std::string& dtype, int64_t rows, int64_t cols, const py::object& format,
           const std::string& granularity, uintptr_t scales, float target, uintptr_t stream) {
          const FormatInfo& f = format_arg(format);
          const Granularity g = granularity_arg(granularity);
          const cuda::Matrix x{reinterpret_cast<const void*>(in), parse_wide_dtype(dtype), rows, cols};
          py::gil_scoped_release nogil;
          if (scales)
            cuda::fake_quant_scaled(f, x, g, reinterpret_cast<const float*>(scales), reinterpret_cast<void*>(out),
                                    reinterpret_cast<void*>(stream));
          else
            cuda::fake_quant(f, x, g, target == 0.0f ? default_target(f) : target, reinterpret_cast<void*>(out),
                             reinterpret_cast<void*>(stream));
        },
        "x_ptr"_a, "out_ptr"_a, "dtype"_a, "rows"_a, "cols"_a, "format"_a, "granularity"_a, "scales_ptr"_a, "target"_a,
        "stream"_a, "Fake-quantize a [rows, cols] device array into out (scales_ptr 0: dynamic scales) on `stream`.");
#else
  m.def("cuda_available", [] { return false; }, "True when this build has the CUDA backend and a GPU is usable.");
  m.def("cuda_device", [] { return std::string("hifp8 was built without the CUDA backend"); },
        "The GPU the CUDA backend uses, or why none is usable.");
  m.def("_cuda_fake_quant", [](py::args, py::kwargs) {
    throw py::value_error("hifp8 was built without the CUDA backend (no nvcc at build time)");
  });
#endif
}

}  // namespace hifp8::python
