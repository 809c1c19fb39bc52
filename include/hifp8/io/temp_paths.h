#pragma once
// The temporary files and directories that outputs are being written to, so that an interrupted
// command (SIGINT/SIGTERM, see cli/interrupt.h) can remove them before it exits: an interruption
// leaves neither a half-written output nor hidden temporary data behind.
#include <filesystem>

namespace hifp8::io {

void register_temp_path(const std::filesystem::path& path);
void unregister_temp_path(const std::filesystem::path& path);
// Removes every registered path (best effort) and holds the registry locked until the process exits,
// so that no commit can rename a temporary path into place after this.
void remove_temp_paths_for_exit();

// Holds the registry while an output is committed (renamed into place), so that an interruption
// sees either the temporary path or the finished output, never half of a commit.
class CommitGuard {
 public:
  CommitGuard();
  ~CommitGuard();
  CommitGuard(const CommitGuard&) = delete;
  CommitGuard& operator=(const CommitGuard&) = delete;
};

}  // namespace hifp8::io
