#pragma once
// The GPU engine's side of activation statistics (model/activation_stats.h) and traces: statistics
// accumulate in device memory while passes run (per-column max |x| and the |x| histogram by atomics,
// reservoir rows by device-to-device copies placed on the host); flush() hands them to a
// StatsCollector. Traces are downloaded as they happen (a debugging path, not a fast one).
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "hifp8/kernel/cuda.h"
#include "hifp8/model/activation_stats.h"
#include "hifp8/model/model.h"

namespace hifp8::model::gpu {

class DeviceStats {
 public:
  explicit DeviceStats(StatsCollector* into) : into_(into) {}
  // Rows x n bf16 values (device memory, row-major) seen by every module in `names`.
  void add(const std::vector<std::string>& names, const uint16_t* x, int rows, int64_t n, cudaStream_t s);
  // Downloads everything gathered into the collector and starts over.
  void flush(cudaStream_t s);

 private:
  struct Entry {
    std::vector<std::string> names;
    int64_t n = 0;
    uint64_t rows = 0;
    size_t keep = 0;  // reservoir rows
    cuda::DeviceBuffer amax_bits, histogram, samples;
  };
  StatsCollector* into_;
  std::map<std::string, Entry> entries_;
};

// Downloads y [rows, sum of widths] (float32, device) and calls trace once per name: each module of a
// stacked product gets its own columns.
void trace_parts(const ActivationObserver& trace, const std::vector<std::string>& names,
                 const std::vector<int64_t>& widths, const float* y, int rows, cudaStream_t s);

}  // namespace hifp8::model::gpu
