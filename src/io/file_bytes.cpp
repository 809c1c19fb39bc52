#include "hifp8/io/file_bytes.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "hifp8/error.h"

namespace hifp8::io {
namespace {

std::string system_error(const std::string& what, const std::string& path) {
  return what + " '" + path + "': " + std::strerror(errno);
}

void write_stream(std::FILE* f, const void* data, size_t size, const std::string& path) {
  if (size && std::fwrite(data, 1, size, f) != size) throw Error(system_error("cannot write", path));
}

}  // namespace

std::vector<uint8_t> read_all(const std::string& path) {
  std::FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (!f) throw Error(system_error("cannot open", path));
  std::vector<uint8_t> data;
  uint8_t buffer[1 << 16];
  size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, f)) > 0) data.insert(data.end(), buffer, buffer + got);
  const bool failed = std::ferror(f) != 0;
  if (f != stdin) std::fclose(f);
  if (failed) throw Error(system_error("cannot read", path));
  return data;
}

void write_all(const std::string& path, const void* data, size_t size) {
  if (path == "-") {
    write_stream(stdout, data, size, "<stdout>");
    if (std::fflush(stdout) != 0) throw Error(system_error("cannot write", "<stdout>"));
    return;
  }
  const std::filesystem::path target(path);
  const std::filesystem::path temp =
      target.parent_path() / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()));
  std::FILE* f = std::fopen(temp.c_str(), "wb");
  if (!f) throw Error(system_error("cannot create", temp.string()));
  try {
    write_stream(f, data, size, temp.string());
    if (std::fflush(f) != 0 || ::fsync(::fileno(f)) != 0) throw Error(system_error("cannot write", temp.string()));
  } catch (...) {
    std::fclose(f);
    std::filesystem::remove(temp);
    throw;
  }
  std::fclose(f);
  std::error_code ec;
  std::filesystem::rename(temp, target, ec);
  if (ec) {
    std::filesystem::remove(temp);
    throw Error("cannot rename '" + temp.string() + "' to '" + path + "': " + ec.message());
  }
}

}  // namespace hifp8::io
