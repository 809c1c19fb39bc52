#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "hifp8/error.h"
#include "hifp8/io/safetensors.h"

namespace hifp8::io {

uint64_t TensorSpec::nbytes() const {
  uint64_t n = dtype_size(dtype);
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

SafetensorsWriter::SafetensorsWriter(const std::filesystem::path& path, std::vector<TensorSpec> tensors,
                                     const std::map<std::string, std::string>& metadata)
    : path_(path) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  for (const TensorSpec& t : tensors) {
    if (header.contains(t.name)) throw Error(path.string() + ": duplicate tensor name '" + t.name + "'");
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {total_, total_ + t.nbytes()}}};
    total_ += t.nbytes();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keep the data buffer 8-byte aligned, as the reference does
  file_ = std::fopen(path.c_str(), "wb");
  if (!file_) throw Error("cannot create '" + path.string() + "': " + std::strerror(errno));
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = uint8_t(uint64_t(text.size()) >> (8 * i));
  if (std::fwrite(length, 1, 8, file_) != 8 || std::fwrite(text.data(), 1, text.size(), file_) != text.size())
    throw Error("cannot write '" + path.string() + "': " + std::strerror(errno));
}

SafetensorsWriter::~SafetensorsWriter() {
  if (file_) std::fclose(file_);
}

void SafetensorsWriter::write(std::span<const uint8_t> bytes) {
  if (!file_) throw Error(path_.string() + ": write after finish");
  if (written_ + bytes.size() > total_) throw Error(path_.string() + ": more tensor bytes than declared");
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size())
    throw Error("cannot write '" + path_.string() + "': " + std::strerror(errno));
  written_ += bytes.size();
}

void SafetensorsWriter::finish() {
  if (written_ != total_)
    throw Error(path_.string() + ": " + std::to_string(written_) + " of " + std::to_string(total_) + " tensor bytes written");
  const bool ok = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!ok || !closed) throw Error("cannot write '" + path_.string() + "': " + std::strerror(errno));
}

}  // namespace hifp8::io
