#pragma once
// An output directory built under a temporary name beside the target and renamed into place by
// commit(); destroyed without commit (an error, Ctrl-C unwinding) it is removed, so a failed run
// never leaves a half-written model where the target should be.
#include <filesystem>

namespace hifp8::io {

class OutputDir {
 public:
  // Throws Error if `target` exists and !force.
  OutputDir(const std::filesystem::path& target, bool force);
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;
  ~OutputDir();

  const std::filesystem::path& path() const { return temp_; }  // write here
  void commit();  // replaces the target (when forced) and renames the temporary directory into place

 private:
  std::filesystem::path target_, temp_;
  bool force_, committed_ = false;
};

}  // namespace hifp8::io
