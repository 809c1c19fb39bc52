#pragma once
// Writes a list of tensors, declared up front, as HF shards: model.safetensors when it fits in one,
// else model-0000i-of-0000N.safetensors (each <= max_shard_bytes unless one tensor is larger) plus
// model.safetensors.index.json. Tensor bytes are streamed in declaration order.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "hifp8/io/safetensors.h"

namespace hifp8::io {

// "5GB", "500MB", "1.5GiB", "123" (bytes). Decimal units as Hugging Face uses them (5GB = 5e9 bytes).
uint64_t parse_byte_size(const std::string& text);

class ShardedWriter {
 public:
  ShardedWriter(const std::filesystem::path& dir, std::vector<TensorSpec> tensors, uint64_t max_shard_bytes,
                const std::map<std::string, std::string>& metadata = {{"format", "pt"}});
  ~ShardedWriter();

  // Starts the next declared tensor (its name must match), then write() its bytes in any pieces.
  void begin_tensor(const std::string& name);
  void write(std::span<const uint8_t> bytes);
  // Closes the last shard and writes the index (if sharded). Throws if any tensor is missing.
  void finish();
  size_t shard_count() const { return shards_.size(); }

 private:
  struct Shard {
    std::string file;
    std::vector<TensorSpec> tensors;
  };
  std::filesystem::path dir_;
  std::vector<Shard> shards_;
  std::map<std::string, std::string> metadata_;
  size_t shard_ = 0, tensor_ = 0;  // next tensor to begin
  bool started_ = false;
  std::unique_ptr<SafetensorsWriter> writer_;
};

}  // namespace hifp8::io
