#pragma once
// A Hugging Face model directory: config.json, weights in model.safetensors or shards named by
// model.safetensors.index.json, and other files (tokenizer, generation config) carried along unchanged.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "hifp8/io/safetensors.h"

namespace hifp8::io {

class Checkpoint {
 public:
  struct Entry {
    size_t shard;  // index into shards()
    const TensorInfo* info;
  };

  // Throws Error naming the problem: no config.json, a config without "architectures", no weights,
  // an index naming a missing shard or a tensor its shard lacks, a tensor in two shards, a bad shard.
  static Checkpoint open(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  const nlohmann::json& config() const { return config_; }
  std::string architecture() const;
  const std::vector<SafetensorsFile>& shards() const { return shards_; }
  const std::vector<Entry>& tensors() const { return tensors_; }  // shard order, then buffer order
  const Entry* find(const std::string& name) const;
  std::span<const uint8_t> bytes(const Entry& e) const { return shards_[e.shard].bytes(*e.info); }
  void release(const Entry& e) const { shards_[e.shard].release(*e.info); }
  uint64_t total_bytes() const;
  // Files other than config.json, safetensors weights and their index: copied unchanged to outputs.
  std::vector<std::filesystem::path> other_files() const;

 private:
  // GPT-OSS's fused (or MXFP4) expert tensors become per-expert linears (io/fused_experts.h).
  void split_experts();

  std::filesystem::path dir_;
  nlohmann::json config_;
  std::vector<SafetensorsFile> shards_;
  std::vector<Entry> tensors_;
};

nlohmann::json read_json_file(const std::filesystem::path& path);

}  // namespace hifp8::io
