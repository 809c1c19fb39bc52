#pragma once
// safetensors: 8-byte little-endian header length N, N bytes of JSON, then the data buffer.
// The reader memory-maps the file and validates everything before handing out a byte: header size
// (<= 100 MB), JSON shape, dtypes, shapes, and offsets that are in bounds, match numel * itemsize,
// and tile the buffer exactly without overlap (the rules of the reference implementation).
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "hifp8/io/tensor_dtype.h"

namespace hifp8::io {

inline constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct TensorInfo {
  std::string name;
  TensorDType dtype = TensorDType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // offsets into the data buffer
  uint64_t end = 0;

  uint64_t numel() const;
  uint64_t nbytes() const { return end - begin; }
};

struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;  // in buffer order
  std::map<std::string, std::string> metadata;
  uint64_t data_start = 0;  // file offset of the data buffer
};

// Validates a whole file image (or the first bytes of a file of `file_size` bytes: the header must be
// complete in `bytes`). Throws Error with `what` (usually the path) and the problem.
SafetensorsHeader parse_safetensors_header(std::span<const uint8_t> bytes, uint64_t file_size, const std::string& what);

class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::filesystem::path& path);
  // Tensors made in memory (a checkpoint's derived view, e.g. fused experts split per expert): `data`
  // holds them back to back in `tensors` order; `label` names the file in errors.
  static SafetensorsFile in_memory(const std::string& label, std::vector<TensorInfo> tensors, std::vector<uint8_t> data);
  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  ~SafetensorsFile();

  const std::filesystem::path& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return header_.tensors; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  const TensorInfo* find(const std::string& name) const;
  std::span<const uint8_t> bytes(const TensorInfo& tensor) const;
  // Drops the tensor's pages from this process (they stay in the page cache): keeps RSS bounded when
  // streaming through a checkpoint larger than memory.
  void release(const TensorInfo& tensor) const;

 private:
  SafetensorsFile() = default;
  std::filesystem::path path_;
  std::shared_ptr<std::vector<uint8_t>> owned_;  // in_memory(): the data (map_ points into it)
  const uint8_t* map_ = nullptr;
  uint64_t size_ = 0;
  SafetensorsHeader header_;
};

struct TensorSpec {
  std::string name;
  TensorDType dtype;
  std::vector<int64_t> shape;
  uint64_t nbytes() const;
};

// Writes one safetensors file whose tensors are all declared up front (the header comes first), then
// streamed in declaration order by any number of write() calls. finish() checks the byte count.
class SafetensorsWriter {
 public:
  SafetensorsWriter(const std::filesystem::path& path, std::vector<TensorSpec> tensors,
                    const std::map<std::string, std::string>& metadata = {});
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;
  ~SafetensorsWriter();

  void write(std::span<const uint8_t> bytes);
  void finish();
  uint64_t data_bytes() const { return total_; }

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  uint64_t total_ = 0;
  uint64_t written_ = 0;
};

}  // namespace hifp8::io
