#pragma once
// An output directory built under a temporary name beside the target and renamed into place by
// commit(); destroyed without commit (an error, an exception unwinding) it is removed, so a failed run
// never leaves a half-written model where the target should be. An interrupted run's temporary
// directory is removed by the CLI's signal handling (io/temp_paths.h), and one left by a killed
// process (SIGKILL, a crash) is removed by the next run into the same parent.
#include <filesystem>
#include <vector>

namespace hifp8::io {

// Error if `output` is, contains or lies inside one of `inputs` (canonical paths).
void check_output_apart(const std::filesystem::path& output, const std::vector<std::filesystem::path>& inputs);

class OutputDir {
 public:
  // Throws Error if `target` exists and !force, or if it is, contains or lies inside one of `inputs`
  // (compared as canonical paths: replacing it would destroy what is being read).
  OutputDir(const std::filesystem::path& target, bool force, const std::vector<std::filesystem::path>& inputs = {});
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;
  ~OutputDir();

  const std::filesystem::path& path() const { return temp_; }  // write here
  // fsyncs every file, then replaces the target (when forced) and renames the temporary directory into
  // place. If that fails, the previous output is put back; if even that fails, the error says where it is.
  void commit();

 private:
  std::filesystem::path target_, temp_;
  bool force_, committed_ = false;
};

}  // namespace hifp8::io
