// The main job from Python: quantize a Hugging Face checkpoint directory, with the CLI's options and a
// progress callback. The callback runs on the calling thread with the GIL held; an exception it raises
// stops the job, which then leaves no output (as any failure does).
#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "bindings.h"
#include "hifp8/pipeline/quantize_checkpoint.h"
#include "hifp8/io/sharded_writer.h"
#include "hifp8/quant/scheme.h"

namespace hifp8::python {
namespace {

using namespace pybind11::literals;

py::object to_python(const nlohmann::json& j) { return py::module_::import("json").attr("loads")(j.dump()); }

py::object quantize_checkpoint(const std::string& model, const std::string& output, pipeline::QuantizeCheckpointOptions options,
                               const std::optional<py::function>& progress) {
  if (progress)
    options.progress = [&progress](const pipeline::QuantizeProgress& p) {
      py::gil_scoped_acquire gil;
      (*progress)(p);
    };
  std::optional<pipeline::QuantizeReport> report;
  {
    py::gil_scoped_release nogil;
    report = pipeline::quantize_checkpoint(model, output, options);
  }
  return to_python(report->to_json());
}

}  // namespace

void bind_checkpoint(py::module_& m) {
  py::class_<pipeline::QuantizeProgress>(m, "Progress", "Where a quantize_checkpoint job is (passed to its callback).")
      .def_readonly("tensors_done", &pipeline::QuantizeProgress::tensors_done)
      .def_readonly("tensors_total", &pipeline::QuantizeProgress::tensors_total)
      .def_readonly("bytes_done", &pipeline::QuantizeProgress::bytes_done, "Input bytes processed")
      .def_readonly("bytes_total", &pipeline::QuantizeProgress::bytes_total)
      .def_readonly("seconds", &pipeline::QuantizeProgress::seconds)
      .def_readonly("current", &pipeline::QuantizeProgress::current, "The tensor being processed")
      .def("__repr__", [](const pipeline::QuantizeProgress& p) {
        return "hifp8.Progress(" + std::to_string(p.tensors_done) + "/" + std::to_string(p.tensors_total) +
               " tensors, " + std::to_string(p.bytes_done) + "/" + std::to_string(p.bytes_total) + " bytes)";
      });

  m.def("schemes", [] {
    py::list list;
    for (const Scheme& s : all_schemes())
      list.append(py::dict("name"_a = std::string(s.name), "summary"_a = std::string(s.summary),
                           "format"_a = std::string(format_info(s.format).name),
                           "granularity"_a = s.default_granularity.to_string()));
    return list;
  }, "The quantize_checkpoint schemes: name, summary, format and default weight granularity of each.");

  m.def("quantize_checkpoint",
        [](const std::string& model, const std::string& output, const std::string& scheme,
           const std::optional<std::string>& granularity, float target, const std::vector<std::string>& ignore,
           bool include_lm_head, bool allow_nonfinite, bool force, const std::string& max_shard_size, int threads,
           const std::optional<std::string>& calib, size_t calib_samples, int64_t seq_len, const std::string& observer,
           std::optional<float> smooth_alpha, bool smooth_full, const std::optional<std::vector<std::string>>& formats,
           size_t keep_bf16, const std::optional<py::function>& progress) {
          pipeline::QuantizeCheckpointOptions o;
          o.scheme = scheme;
          if (granularity) o.granularity = granularity_arg(*granularity);
          o.target = target;
          o.selection = {ignore, include_lm_head};
          o.allow_nonfinite = allow_nonfinite;
          o.force = force;
          o.max_shard_bytes = io::parse_byte_size(max_shard_size);
          o.threads = threads;
          if (calib) {
            calib::CalibrationOptions c;
            c.data = *calib, c.samples = calib_samples, c.seq_len = seq_len, c.observer = observer;
            c.engine.threads = threads;
            o.calibration = c;
          }
          o.smooth_alpha = smooth_alpha;
          o.smooth_full = smooth_full;
          if (formats) o.mixed_formats = *formats;
          o.keep_bf16 = keep_bf16;
          return quantize_checkpoint(model, output, std::move(o), progress);
        },
        "model"_a, "output"_a, "scheme"_a = "fp8-dynamic", py::kw_only(), "granularity"_a = py::none(),
        "target"_a = 0.0f, "ignore"_a = std::vector<std::string>{}, "include_lm_head"_a = false,
        "allow_nonfinite"_a = false, "force"_a = false, "max_shard_size"_a = "5GB", "threads"_a = 0,
        "calib"_a = py::none(), "calib_samples"_a = 128, "seq_len"_a = 512, "observer"_a = "max",
        "smooth_alpha"_a = py::none(), "smooth_full"_a = false, "formats"_a = py::none(), "keep_bf16"_a = 0,
        "progress"_a = py::none(),
        R"(Quantize a Hugging Face checkpoint directory into `output`: the same job, options and files as
`hifp8 quantize MODEL OUTPUT --scheme SCHEME ...` (docs/quantize.md). Returns the report (the CLI's
--report JSON) as a dict. progress(p: Progress) is called as tensors are processed; an exception it
raises stops the job. Any failure leaves no output directory.)");
}

}  // namespace hifp8::python
