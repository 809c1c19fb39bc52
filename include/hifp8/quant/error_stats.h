#pragma once
// What a quantization cost, measured in float64 against the original values.
#include <span>

namespace hifp8 {

struct ErrorStats {
  double sqnr_db = 0;        // 10 log10(sum x^2 / sum (x - q)^2); +inf when exact
  double relative_frobenius = 0;  // ||x - q|| / ||x||
  double max_abs_error = 0;
};

ErrorStats error_stats(std::span<const float> original, std::span<const float> reconstructed);

}  // namespace hifp8
