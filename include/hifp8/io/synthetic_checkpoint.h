#pragma once
// Random-weight Llama-shaped checkpoints for tests and benchmarks: realistic shapes and names, sharded,
// weights drawn from a heavy-tailed (Laplacian) distribution with a few outlier input channels, so
// quantization error looks like a real model's rather than like zeros.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "hifp8/io/tensor_dtype.h"

namespace hifp8::io {

struct SyntheticOptions {
  std::string preset = "tiny";  // synthetic_presets()
  TensorDType dtype = TensorDType::BF16;
  int layers = 0;  // 0: the preset's
  uint64_t seed = 0;
  uint64_t max_shard_bytes = 5'000'000'000ull;
  bool force = false;
  int threads = 0;
};

std::vector<std::string> synthetic_presets();  // tiny, tiny-moe, tiny-mixtral, llama3-8b, llama3-70b-layer

// Writes config.json and the shards into `dir` (atomically). Returns the bytes of tensor data written.
uint64_t write_synthetic_checkpoint(const std::filesystem::path& dir, const SyntheticOptions& options);

}  // namespace hifp8::io
