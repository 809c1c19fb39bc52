#pragma once
// Post-training calibration: run calibration data through the engine on the original model and keep,
// per linear layer input and per layer's keys / values, the statistic the observer asks for:
//   max             the largest |x| seen (llm-compressor's minmax, AutoFP8's default)
//   percentile:P    the P-th percentile of |x| over all values seen (e.g. 99.99), clipping outliers;
//                   from a log-spaced histogram, 64 bins per octave (within 1.1 % of the exact value)
//   mse             the clipping value in [max/8, max] that minimises the squared error of
//                   fake-quantizing the observed values in `format` (from the same histogram)
// Static scales are then statistic / target (448 for E4M3, 127 for INT8, 16 for HiF8).
// On the GPU engine the statistics are of the bf16 activations the GPU multiplies (the CPU engine's
// are float32), so scales agree within about 1e-2 relative, not bit for bit.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>

#include <string>
#include <vector>

#include "hifp8/format/format.h"
#include "hifp8/model/engine.h"

namespace hifp8::calib {

struct CalibrationOptions {
  std::filesystem::path data;  // a token-id file (*.tokens: one sequence per line) or UTF-8 text
  size_t samples = 128;        // sequences used
  int64_t seq_len = 512;       // tokens per sequence (longer lines / text are cut into pieces)
  std::string observer = "max";
  const FormatInfo* format = nullptr;  // the activation format (needed by mse)
  size_t sample_rows = 0;              // keep up to this many input rows per linear (format choice)
  model::EngineOptions engine{};       // where the model runs (device, threads); its slots, context and
                                       // KV cache are calibration's own (one slot, bf16 or f32 cache)
  std::function<void(size_t done, size_t total, size_t tokens)> progress{};  // sequences, tokens so far; (0, total, 0) first
};

struct CalibrationResult {
  std::map<std::string, float> amax;  // module name (linear input) or "...self_attn.k_cache"/"v_cache"
  std::map<std::string, std::vector<float>> channel_amax;  // linear inputs: max |x| per input channel
  std::map<std::string, std::vector<float>> samples;       // linear inputs: up to sample_rows rows, row-major
  size_t sequences = 0, tokens = 0;
};

// Throws Error for an unknown observer, unreadable data, or data without tokens.
CalibrationResult calibrate(const std::filesystem::path& model_dir, const CalibrationOptions& options);

}  // namespace hifp8::calib
