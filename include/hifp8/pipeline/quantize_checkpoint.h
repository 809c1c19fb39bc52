#pragma once
// The main job: a Hugging Face checkpoint in, a quantized one out (streamed tensor by tensor, in row
// chunks, so memory is bounded by a chunk plus the scales, not by the model), plus a report of what
// the quantization cost.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "hifp8/calib/calibration.h"
#include "hifp8/io/tensor_selection.h"
#include "hifp8/format/granularity.h"

namespace hifp8::pipeline {

struct QuantizeProgress {
  size_t tensors_done = 0, tensors_total = 0;
  uint64_t bytes_done = 0, bytes_total = 0;  // input bytes
  double seconds = 0;
  std::string current;  // tensor being processed
};

struct QuantizeCheckpointOptions {
  std::string scheme = "fp8-dynamic";
  std::optional<Granularity> granularity;  // default: the scheme's
  float target = 0;                        // 0: the format's default (HiF8: 16)
  io::SelectionRules selection;
  bool allow_nonfinite = false;  // clamp NaN/Inf instead of failing
  bool force = false;            // replace an existing output directory
  uint64_t max_shard_bytes = 5'000'000'000ull;
  int threads = 0;
  std::function<void(const QuantizeProgress&)> progress;
  // Set: calibrate first (calib/calibration.h) and write static activation scales (X.input_scale)
  // and E4M3 KV-cache scales (self_attn.k_scale / v_scale) instead of dynamic activations.
  std::optional<calib::CalibrationOptions> calibration;
  // SmoothQuant (calib/smoothing.h) with this alpha, from the calibration statistics; full: down_proj too.
  std::optional<float> smooth_alpha;
  bool smooth_full = false;
  // scheme mixed: candidate formats (names as `hifp8 formats` lists them) and how many of the most
  // sensitive layers stay in bf16.
  std::vector<std::string> mixed_formats = {"hif8", "fp8_e4m3fn", "fp8_e5m2", "int8"};
  size_t keep_bf16 = 0;
};

struct TensorReport {
  std::string name;
  std::vector<int64_t> shape;
  std::string dtype_in, dtype_out;
  bool quantized = false;
  double sqnr_db = 0, relative_frobenius = 0, max_abs_error = 0;
  double saturated_pct = 0, flushed_to_zero_pct = 0;
  uint64_t bytes_in = 0, bytes_out = 0;
  double seconds = 0;
  // scheme mixed: the format chosen for this weight ("bf16" if kept) and each candidate's output error
  std::string chosen_format;
  std::vector<std::pair<std::string, double>> output_errors;
};

// What calibration did (quantize --calib): its data and how much of it was used, the observer,
// SmoothQuant, and the static scales written.
struct CalibrationSummary {
  std::string data, observer;
  size_t sequences_asked = 0, sequences = 0, tokens = 0;
  std::optional<float> smooth_alpha;
  size_t input_scales = 0, kv_scales = 0;
};

struct QuantizeReport {
  std::string scheme, format, granularity, input, output;
  // The weight format's target; none for scheme mixed, where each layer's format uses its own default.
  std::optional<float> target;
  std::optional<CalibrationSummary> calibration;
  std::vector<std::string> warnings;  // e.g. less calibration data than asked for
  std::vector<TensorReport> tensors;
  uint64_t bytes_in = 0, bytes_out = 0;
  double seconds = 0;
  uint64_t peak_rss_bytes = 0;  // of this process, at the end of the run

  nlohmann::json to_json() const;
  std::string to_markdown() const;  // totals plus the worst tensors by SQNR
  // The output's README.md: what was done (tool and version, date, scheme, format, granularity,
  // calibration, SQNR, who loads it), then the original model card, if any, unchanged.
  std::string model_card(const std::string& original_card) const;
};

// Throws Error (and leaves no output) on any problem: see docs/quantize.md.
QuantizeReport quantize_checkpoint(const std::filesystem::path& input, const std::filesystem::path& output,
                                   const QuantizeCheckpointOptions& options);

}  // namespace hifp8::pipeline
