#pragma once
// File I/O with the guarantees every command relies on:
// - reading a model's files never blocks on a FIFO or a device (opened non-blocking, then checked to
//   be a regular file);
// - an output file is written under a temporary name beside its target, flushed and fsync'ed, and
//   renamed over the target only when complete: a full disk or an error leaves the old file intact.
//   Targets that are not regular files (a FIFO, a character device such as /dev/stdout or /dev/null)
//   are written in place instead, and a symlink is followed: the file it points to is replaced, the
//   link is kept. "-" is standard output.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace hifp8::io {

// An fd for reading `path`, refusing (Error) anything but a regular file without blocking on it.
int open_regular_file(const std::filesystem::path& path);
// The whole regular file as bytes.
std::string read_file(const std::filesystem::path& path);

class OutputFile {
 public:
  explicit OutputFile(const std::string& path);
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();  // without commit(): the temporary file is removed, the target untouched

  void write(const void* data, size_t size);
  void write(std::string_view text) { write(text.data(), text.size()); }
  // Flushes, fsyncs, closes and renames into place; every step checked (Error naming the file).
  void commit();

 private:
  std::string target_, temp_;  // temp_ empty: written in place
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

// A whole text file written through OutputFile.
void write_file(const std::filesystem::path& path, std::string_view text);

// A whole binary output through OutputFile ("-": standard output).
void write_all(const std::string& path, const void* data, size_t size);

// fsync of a directory, so that a rename inside it is durable; errors are reported.
void sync_directory(const std::filesystem::path& dir);

}  // namespace hifp8::io
