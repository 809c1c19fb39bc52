// The CUDA side of the torch ops hifp8::fake_quant and hifp8::w8a16_linear: raw device pointers and the
// caller's stream (the torch tensors stay on the GPU; PyTorch owns their memory). Without the CUDA
// backend the entry points say so.
#include <pybind11/stl.h>

#include "bindings.h"
#include "hifp8/quant/quantized_tensor.h"
#include "numpy_arrays.h"
#ifdef HIFP8_HAVE_CUDA
#include "hifp8/kernel/cuda.h"
#include "hifp8/kernel/cuda_matmul.h"
#endif

namespace hifp8::python {

#ifdef HIFP8_HAVE_CUDA
namespace {

// Packed codes (cuda::pack_w8's layout, which hifp8.quantized_linear.pack_codes writes with torch) and
// their float32 scales as the W8A16 kernels take them.
cuda::W8Weights w8_weights(uintptr_t codes, int64_t n, int64_t k, uintptr_t scales, const py::object& format,
                           const std::string& granularity, bool finite_codes) {
  return {&format_arg(format), cuda::w8_layout(n, k), reinterpret_cast<const uint8_t*>(codes),
          reinterpret_cast<const float*>(scales), granularity_arg(granularity), finite_codes};
}

}  // namespace
#endif

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
  m.def("_cuda_w8a16",
        [](uintptr_t x, int64_t m, uintptr_t y, uintptr_t codes, int64_t n, int64_t k, uintptr_t scales,
           const py::object& format, const std::string& granularity, bool finite_codes, uintptr_t stream) {
          const cuda::W8Weights w = w8_weights(codes, n, k, scales, format, granularity, finite_codes);
          py::gil_scoped_release nogil;
          cuda::matmul_w8a16(w, reinterpret_cast<const uint16_t*>(x), m, reinterpret_cast<uint16_t*>(y), nullptr,
                             reinterpret_cast<void*>(stream));
        },
        "x_ptr"_a, "m"_a, "y_ptr"_a, "codes_ptr"_a, "n"_a, "k"_a, "scales_ptr"_a, "format"_a, "granularity"_a,
        "finite_codes"_a, "stream"_a, "y[m, n] = x[m, k] . dequant(W)^T in bf16 with packed 8-bit weights on `stream`.");
  m.def("_cuda_dequantize_w8",
        [](uintptr_t codes, int64_t n, int64_t k, uintptr_t scales, const py::object& format,
           const std::string& granularity, bool finite_codes, uintptr_t out, uintptr_t stream) {
          const cuda::W8Weights w = w8_weights(codes, n, k, scales, format, granularity, finite_codes);
          py::gil_scoped_release nogil;
          cuda::dequantize_w8(w, reinterpret_cast<uint16_t*>(out), reinterpret_cast<void*>(stream));
        },
        "codes_ptr"_a, "n"_a, "k"_a, "scales_ptr"_a, "format"_a, "granularity"_a, "finite_codes"_a, "out_ptr"_a,
        "stream"_a, "Packed 8-bit weights dequantized to row-major bf16 [n, k] on `stream`.");
#else
  m.def("cuda_available", [] { return false; }, "True when this build has the CUDA backend and a GPU is usable.");
  m.def("cuda_device", [] { return std::string("hifp8 was built without the CUDA backend"); },
        "The GPU the CUDA backend uses, or why none is usable.");
  for (const char* name : {"_cuda_fake_quant", "_cuda_w8a16", "_cuda_dequantize_w8"})
    m.def(name, [](py::args, py::kwargs) {
      throw py::value_error("hifp8 was built without the CUDA backend (no nvcc at build time)");
    });
#endif
}

}  // namespace hifp8::python
