#pragma once
// A progress line on stderr: redrawn in place (at most 10 times a second) on a terminal; on a pipe or
// log file, one line per 10% of the work.
#include <chrono>
#include <cstdint>
#include <string>

namespace hifp8::cli {

class ProgressBar {
 public:
  enum class Unit { bytes, tokens };
  explicit ProgressBar(std::string label, Unit unit = Unit::bytes);
  // done/total in the unit (bytes show as GB and GB/s, tokens as tokens and tokens/s); `count` is e.g. "12/291 tensors"; `current` names the item in progress.
  void update(uint64_t done, uint64_t total, const std::string& count, const std::string& current);
  void finish();

 private:
  std::string label_;
  Unit unit_;
  bool tty_;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::string last_line_, last_count_;
};

}  // namespace hifp8::cli
