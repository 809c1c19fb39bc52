#include "hifp8/io/checkpoint.h"

#include <algorithm>
#include <map>
#include <set>

#include "hifp8/error.h"
#include "hifp8/io/file_bytes.h"
#include "io/fused_experts.h"

namespace hifp8::io {
namespace fs = std::filesystem;

nlohmann::json read_json_file(const fs::path& path) {
  nlohmann::json j = nlohmann::json::parse(read_file(path), nullptr, false);
  if (j.is_discarded()) throw Error(path.string() + ": not valid JSON");
  return j;
}

Checkpoint Checkpoint::open(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw Error(dir.string() + ": not a model directory");
  Checkpoint c;
  c.dir_ = dir;
  if (!fs::exists(dir / "config.json")) throw Error(dir.string() + ": no config.json");
  c.config_ = read_json_file(dir / "config.json");
  if (!c.config_.is_object()) throw Error((dir / "config.json").string() + ": not a JSON object");
  c.architecture();  // validates

  const fs::path index_path = dir / "model.safetensors.index.json";
  std::map<std::string, std::string> weight_map;  // tensor -> shard file
  std::vector<std::string> shard_names;
  if (fs::exists(index_path)) {
    const nlohmann::json index = read_json_file(index_path);
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
      throw Error(index_path.string() + ": no \"weight_map\" object");
    std::set<std::string> seen;
    for (const auto& [tensor, shard] : index["weight_map"].items()) {
      if (!shard.is_string()) throw Error(index_path.string() + ": shard for '" + tensor + "' is not a string");
      const std::string file = shard.get<std::string>();
      if (file.find('/') != std::string::npos || file.rfind("..", 0) == 0)
        throw Error(index_path.string() + ": shard name '" + file + "' is not a plain file name");
      weight_map[tensor] = file;
      if (seen.insert(file).second) shard_names.push_back(file);
    }
    std::sort(shard_names.begin(), shard_names.end());
  } else if (fs::exists(dir / "model.safetensors")) {
    shard_names.push_back("model.safetensors");
  } else {
    throw Error(dir.string() + ": no model.safetensors or model.safetensors.index.json");
  }

  for (const std::string& name : shard_names) {
    if (!fs::exists(dir / name)) throw Error(dir.string() + ": missing shard " + name + " (named in the index)");
    c.shards_.push_back(SafetensorsFile::open(dir / name));
  }
  std::map<std::string, size_t> owner;
  for (size_t s = 0; s < c.shards_.size(); ++s)
    for (const TensorInfo& t : c.shards_[s].tensors()) {
      if (!owner.emplace(t.name, s).second)
        throw Error(dir.string() + ": tensor '" + t.name + "' appears in " + shard_names[owner[t.name]] + " and " + shard_names[s]);
      c.tensors_.push_back({s, &t});
    }
  for (const auto& [tensor, file] : weight_map) {
    auto it = owner.find(tensor);
    if (it == owner.end() || shard_names[it->second] != file)
      throw Error(dir.string() + ": index maps '" + tensor + "' to " + file + ", which does not contain it");
  }
  if (c.tensors_.empty()) throw Error(dir.string() + ": the checkpoint holds no tensors");
  if (!weight_map.empty() && weight_map.size() != c.tensors_.size())
    throw Error(dir.string() + ": shards hold tensors the index does not list");
  c.split_experts();
  return c;
}

void Checkpoint::split_experts() {
  std::optional<SplitExperts> split = split_fused_experts(*this);
  if (!split) return;
  std::erase_if(tensors_, [&](const Entry& e) {
    return std::find(split->replaced.begin(), split->replaced.end(), e.info->name) != split->replaced.end();
  });
  shards_.push_back(std::move(split->tensors));
  for (const TensorInfo& t : shards_.back().tensors()) tensors_.push_back({shards_.size() - 1, &t});
  // The view is dequantized: the published checkpoint's mxfp4 quantization_config describes no tensor of it.
  if (split->from_mxfp4) config_.erase("quantization_config");
}

std::string Checkpoint::architecture() const {
  const auto it = config_.find("architectures");
  if (it == config_.end() || !it->is_array() || it->empty() || !(*it)[0].is_string())
    throw Error((dir_ / "config.json").string() + ": no \"architectures\" (which model class is this?)");
  return (*it)[0].get<std::string>();
}

const Checkpoint::Entry* Checkpoint::find(const std::string& name) const {
  for (const Entry& e : tensors_)
    if (e.info->name == name) return &e;
  return nullptr;
}

uint64_t Checkpoint::total_bytes() const {
  uint64_t n = 0;
  for (const Entry& e : tensors_) n += e.info->nbytes();
  return n;
}

std::vector<fs::path> Checkpoint::other_files() const {
  std::vector<fs::path> files;
  for (const fs::directory_entry& e : fs::directory_iterator(dir_)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || name.empty() || name[0] == '.') continue;
    if (name == "config.json" || name == "model.safetensors.index.json" || e.path().extension() == ".safetensors") continue;
    files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace hifp8::io
