#include "hifp8/quant/error_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "hifp8/error.h"

namespace hifp8 {

ErrorStats error_stats(std::span<const float> original, std::span<const float> reconstructed) {
  if (original.size() != reconstructed.size()) throw Error("error_stats: sizes differ");
  double signal = 0, noise = 0, max_abs = 0;
  for (size_t i = 0; i < original.size(); ++i) {
    const double x = original[i];
    const double d = x - double(reconstructed[i]);
    signal += x * x;
    noise += d * d;
    max_abs = std::max(max_abs, std::fabs(d));
  }
  ErrorStats stats;
  stats.max_abs_error = max_abs;
  stats.sqnr_db = noise == 0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(signal / noise);
  stats.relative_frobenius = signal == 0 ? (noise == 0 ? 0.0 : std::numeric_limits<double>::infinity())
                                         : std::sqrt(noise / signal);
  return stats;
}

}  // namespace hifp8
