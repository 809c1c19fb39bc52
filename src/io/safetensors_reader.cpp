#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "hifp8/error.h"
#include "hifp8/io/file_bytes.h"
#include "hifp8/io/safetensors.h"

namespace hifp8::io {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& problem) {
  throw Error(what + ": " + problem);
}

// a * b, or fail on overflow past 2^63.
uint64_t checked_mul(uint64_t a, uint64_t b, const std::string& what, const std::string& name) {
  if (a != 0 && b > (uint64_t{1} << 63) / a) fail(what, "tensor '" + name + "' is too large");
  return a * b;
}

uint64_t get_u64(const nlohmann::json& v, const std::string& what, const std::string& context) {
  if (!v.is_number_unsigned()) fail(what, context + " must be a non-negative integer");
  return v.get<uint64_t>();
}

TensorInfo parse_tensor(const std::string& name, const nlohmann::json& entry, const std::string& what) {
  if (!entry.is_object()) fail(what, "tensor '" + name + "' is not an object");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(key)) fail(what, "tensor '" + name + "' has no \"" + key + "\"");
  TensorInfo t;
  t.name = name;
  if (!entry["dtype"].is_string()) fail(what, "tensor '" + name + "': dtype is not a string");
  try {
    t.dtype = parse_tensor_dtype(entry["dtype"].get<std::string>());
  } catch (const Error& e) {
    fail(what, "tensor '" + name + "': " + e.what());
  }
  const nlohmann::json& shape = entry["shape"];
  if (!shape.is_array() || shape.size() > 16) fail(what, "tensor '" + name + "': shape must be an array of <= 16 dims");
  uint64_t numel = 1;
  for (const nlohmann::json& d : shape) {
    const uint64_t extent = get_u64(d, what, "tensor '" + name + "' shape entry");
    numel = checked_mul(numel, extent, what, name);
    t.shape.push_back(static_cast<int64_t>(extent));
  }
  const nlohmann::json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2) fail(what, "tensor '" + name + "': data_offsets must be [begin, end]");
  t.begin = get_u64(offsets[0], what, "tensor '" + name + "' data_offsets");
  t.end = get_u64(offsets[1], what, "tensor '" + name + "' data_offsets");
  if (t.end < t.begin) fail(what, "tensor '" + name + "': data_offsets end < begin");
  const uint64_t expected = checked_mul(numel, dtype_size(t.dtype), what, name);
  if (t.end - t.begin != expected)
    fail(what, "tensor '" + name + "' spans " + std::to_string(t.end - t.begin) + " bytes but dtype " +
                   std::string(dtype_name(t.dtype)) + " and its shape need " + std::to_string(expected));
  return t;
}

}  // namespace

uint64_t TensorInfo::numel() const {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

SafetensorsHeader parse_safetensors_header(std::span<const uint8_t> bytes, uint64_t file_size, const std::string& what) {
  if (file_size < 8 || bytes.size() < 8) fail(what, "truncated: shorter than the 8-byte header length");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = header_len << 8 | bytes[size_t(i)];
  if (header_len > kMaxHeaderBytes) fail(what, "header length " + std::to_string(header_len) + " exceeds 100 MB");
  if (8 + header_len > file_size) fail(what, "truncated: header of " + std::to_string(header_len) + " bytes runs past the end of the file");
  if (8 + header_len > bytes.size()) fail(what, "header not fully read");
  const auto* text = reinterpret_cast<const char*>(bytes.data() + 8);
  const nlohmann::json root = nlohmann::json::parse(text, text + header_len, nullptr, false);
  if (root.is_discarded()) fail(what, "header is not valid JSON");
  if (!root.is_object()) fail(what, "header is not a JSON object");

  SafetensorsHeader header;
  header.data_start = 8 + header_len;
  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) fail(what, "__metadata__ is not an object");
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string()) fail(what, "__metadata__ value for '" + mk + "' is not a string");
        header.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    header.tensors.push_back(parse_tensor(key, value, what));
  }
  std::sort(header.tensors.begin(), header.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  const uint64_t buffer = file_size - header.data_start;
  uint64_t expected_begin = 0;
  for (const TensorInfo& t : header.tensors) {
    if (t.begin < expected_begin) fail(what, "tensor '" + t.name + "' overlaps the previous tensor");
    if (t.begin > expected_begin) fail(what, "gap before tensor '" + t.name + "' in the data buffer");
    if (t.end > buffer)
      fail(what, "tensor '" + t.name + "' ends at byte " + std::to_string(t.end) + " past the data buffer (" +
                     std::to_string(buffer) + " bytes): truncated file?");
    expected_begin = t.end;
  }
  if (expected_begin != buffer)
    fail(what, "data buffer has " + std::to_string(buffer - expected_begin) + " bytes not covered by any tensor");
  return header;
}

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  const std::string what = path.string();
  const int fd = open_regular_file(path);  // never blocks on a FIFO
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    fail(what, std::string("cannot stat: ") + std::strerror(errno));
  }
  SafetensorsFile file;
  file.path_ = path;
  file.size_ = static_cast<uint64_t>(st.st_size);
  if (file.size_ > 0) {
    void* map = ::mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      ::close(fd);
      fail(what, std::string("cannot mmap: ") + std::strerror(errno));
    }
    file.map_ = static_cast<const uint8_t*>(map);
  }
  ::close(fd);
  file.header_ = parse_safetensors_header({file.map_, file.size_}, file.size_, what);
  return file;
}

SafetensorsFile SafetensorsFile::in_memory(const std::string& label, std::vector<TensorInfo> tensors, std::vector<uint8_t> data) {
  SafetensorsFile file;
  file.path_ = label;
  file.owned_ = std::make_shared<std::vector<uint8_t>>(std::move(data));
  file.map_ = file.owned_->data();
  file.size_ = file.owned_->size();
  file.header_.tensors = std::move(tensors);
  return file;
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& other) noexcept { *this = std::move(other); }

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& other) noexcept {
  if (this != &other) {
    if (map_ && !owned_) ::munmap(const_cast<uint8_t*>(map_), size_);
    owned_ = std::move(other.owned_);
    path_ = std::move(other.path_);
    map_ = std::exchange(other.map_, nullptr);
    size_ = std::exchange(other.size_, 0);
    header_ = std::move(other.header_);
  }
  return *this;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ && !owned_) ::munmap(const_cast<uint8_t*>(map_), size_);
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  for (const TensorInfo& t : header_.tensors)
    if (t.name == name) return &t;
  return nullptr;
}

std::span<const uint8_t> SafetensorsFile::bytes(const TensorInfo& tensor) const {
  return {map_ + header_.data_start + tensor.begin, tensor.nbytes()};
}

void SafetensorsFile::release(const TensorInfo& tensor) const {
  if (owned_) return;  // heap memory: MADV_DONTNEED would zero it
  const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t begin = (header_.data_start + tensor.begin + page - 1) / page * page;
  const uint64_t end = (header_.data_start + tensor.end) / page * page;
  if (end > begin) ::madvise(const_cast<uint8_t*>(map_) + begin, end - begin, MADV_DONTNEED);
}

}  // namespace hifp8::io
