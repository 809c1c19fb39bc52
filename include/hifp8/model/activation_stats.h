#pragma once
// What calibration keeps of the activations a model sees, per observed tensor (a linear's input by
// module name, a layer's keys or values as "model.layers.N.self_attn.k_cache" / "v_cache"): the
// largest |x| per column, optionally a log2 histogram of |x| and a reservoir of rows. Both engines
// fill the same record: the CPU engine through StatsCollector::add, the GPU engine on the device.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace hifp8::model {

struct StatsOptions {
  bool histogram = false;
  size_t sample_rows = 0;  // rows kept per linear input (0: none); keys and values keep none
};

// |x| histogram bins: bin i covers [2^(kMinExp + i/kPerOctave), 2^(kMinExp + (i+1)/kPerOctave)); zeros,
// NaN and values below the range count in bin 0, values above (and Inf) in the last bin.
struct AbsHistogram {
  static constexpr int kPerOctave = 64, kMinExp = -40, kOctaves = 80;
  static constexpr size_t kBins = size_t(kPerOctave) * kOctaves;
  static size_t bin(float a);
  static double lower_edge(size_t bin);  // 2^(kMinExp + bin / kPerOctave)
};

struct ActivationStats {
  std::vector<float> channel_amax;  // max |x| per column over the finite values
  std::vector<uint64_t> histogram;  // AbsHistogram::kBins counts, when asked
  std::vector<float> samples;       // up to sample_rows rows, row-major
  uint64_t rows = 0;                // rows seen
  float amax() const;               // max of channel_amax (0 when empty)
};

// Algorithm R with a counter-based generator: the reservoir place of the `seen`-th row (0-based) of a
// tensor in a reservoir of `capacity` rows, or capacity when the row is not kept. It depends on `seen`
// alone, so inputs shared by several linears keep the same rows, on either engine.
size_t reservoir_slot(uint64_t seen, size_t capacity);

class StatsCollector {
 public:
  explicit StatsCollector(StatsOptions options) : options_(options) {}
  const StatsOptions& options() const { return options_; }
  // Rows kept of `name`: options().sample_rows for a linear's input, none for keys and values.
  size_t rows_to_keep(const std::string& name) const { return name.ends_with("_cache") ? 0 : options_.sample_rows; }
  // rows x n float32 values of `name`.
  void add(const std::string& name, const float* x, size_t rows, size_t n);
  // Statistics gathered elsewhere (the GPU engine), combined with any already held for `name`.
  void merge(const std::string& name, ActivationStats stats);
  const std::map<std::string, ActivationStats>& stats() const { return stats_; }

 private:
  StatsOptions options_;
  std::map<std::string, ActivationStats> stats_;
};

}  // namespace hifp8::model
