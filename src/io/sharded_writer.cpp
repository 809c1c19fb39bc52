#include "hifp8/io/sharded_writer.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hifp8/io/file_bytes.h"
#include "hifp8/error.h"

namespace hifp8::io {

uint64_t parse_byte_size(const std::string& text) {
  size_t pos = 0;
  double value = 0;
  try {
    value = std::stod(text, &pos);
  } catch (...) {
    throw Error("bad size '" + text + "' (examples: 5GB, 500MB, 2GiB)");
  }
  const std::string unit = text.substr(pos);
  double factor = 0;
  if (unit.empty() || unit == "B") factor = 1;
  else if (unit == "KB") factor = 1e3;
  else if (unit == "MB") factor = 1e6;
  else if (unit == "GB") factor = 1e9;
  else if (unit == "KiB") factor = 1024.0;
  else if (unit == "MiB") factor = 1024.0 * 1024;
  else if (unit == "GiB") factor = 1024.0 * 1024 * 1024;
  if (factor == 0 || !(value > 0) || !std::isfinite(value))
    throw Error("bad size '" + text + "' (examples: 5GB, 500MB, 2GiB)");
  return static_cast<uint64_t>(value * factor);
}

ShardedWriter::ShardedWriter(const std::filesystem::path& dir, std::vector<TensorSpec> tensors, uint64_t max_shard_bytes,
                             const std::map<std::string, std::string>& metadata)
    : dir_(dir), metadata_(metadata) {
  uint64_t current = 0;
  for (TensorSpec& t : tensors) {
    if (shards_.empty() || (current > 0 && current + t.nbytes() > max_shard_bytes)) {
      shards_.push_back({});
      current = 0;
    }
    current += t.nbytes();
    shards_.back().tensors.push_back(std::move(t));
  }
  if (shards_.empty()) shards_.push_back({});
  const size_t n = shards_.size();
  for (size_t s = 0; s < n; ++s) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", s + 1, n);
    shards_[s].file = n == 1 ? "model.safetensors" : name;
  }
}

ShardedWriter::~ShardedWriter() = default;

void ShardedWriter::begin_tensor(const std::string& name) {
  while (shard_ < shards_.size() && tensor_ == shards_[shard_].tensors.size()) {
    if (writer_) writer_->finish(), writer_.reset();
    ++shard_, tensor_ = 0;
  }
  if (shard_ >= shards_.size()) throw Error("sharded writer: tensor '" + name + "' was not declared");
  const TensorSpec& next = shards_[shard_].tensors[tensor_];
  if (next.name != name) throw Error("sharded writer: expected tensor '" + next.name + "', got '" + name + "'");
  if (!writer_) writer_ = std::make_unique<SafetensorsWriter>(dir_ / shards_[shard_].file, shards_[shard_].tensors, metadata_);
  ++tensor_;
}

void ShardedWriter::write(std::span<const uint8_t> bytes) {
  if (!writer_) throw Error("sharded writer: write before begin_tensor");
  writer_->write(bytes);
}

void ShardedWriter::finish() {
  // Shards with only empty tensors, or never begun, still have to exist.
  while (shard_ < shards_.size()) {
    if (tensor_ < shards_[shard_].tensors.size() && shards_[shard_].tensors[tensor_].nbytes() > 0)
      throw Error("sharded writer: tensor '" + shards_[shard_].tensors[tensor_].name + "' never written");
    if (!writer_) writer_ = std::make_unique<SafetensorsWriter>(dir_ / shards_[shard_].file, shards_[shard_].tensors, metadata_);
    writer_->finish();
    writer_.reset();
    ++shard_, tensor_ = 0;
  }
  if (shards_.size() == 1) return;
  nlohmann::ordered_json index;
  uint64_t total = 0;
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  for (const Shard& s : shards_)
    for (const TensorSpec& t : s.tensors) {
      total += t.nbytes();
      weight_map[t.name] = s.file;
    }
  index["metadata"] = {{"total_size", total}};
  index["weight_map"] = weight_map;
  write_file(dir_ / "model.safetensors.index.json", index.dump(2) + "\n");
}

}  // namespace hifp8::io
