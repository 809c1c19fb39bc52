#pragma once
// A progress line on stderr: redrawn in place (at most 10 times a second) on a terminal; on a pipe or
// log file, one line per 10% of the work.
#include <chrono>
#include <cstdint>
#include <string>

namespace hifp8::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  // done/total in bytes; `count` is e.g. "12/291 tensors"; `current` names the item in progress.
  void update(uint64_t done, uint64_t total, const std::string& count, const std::string& current);
  void finish();

 private:
  std::string label_;
  bool tty_;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::string last_line_, last_count_;
};

}  // namespace hifp8::cli
