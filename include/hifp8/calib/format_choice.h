#pragma once
// Per-layer format choice (the MoFQ idea: pick the 8-bit format per layer, at no hardware cost): for
// each linear, the candidate format whose per-channel quantization changes the layer's output least
// on calibration inputs,  error = ||X (W - Q(W))^T||^2 / ||X W^T||^2  over the sampled input rows X;
// optionally the K layers with the largest best error stay in bf16.
#include <string>
#include <vector>

#include "hifp8/calib/calibration.h"
#include "hifp8/format/format.h"
#include "hifp8/io/checkpoint.h"

namespace hifp8::calib {

struct LayerChoice {
  std::string module;
  const FormatInfo* format = nullptr;  // nullptr: kept in bf16 (--keep-bf16)
  std::vector<double> errors;         // per candidate, in the order given
};

// Throws Error if a module has no calibration samples or no candidates are given.
std::vector<LayerChoice> choose_formats(const io::Checkpoint& ckpt, const std::vector<std::string>& modules,
                                        const CalibrationResult& calibration,
                                        const std::vector<const FormatInfo*>& candidates, size_t keep_bf16, int threads = 0);

}  // namespace hifp8::calib
