#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace hifp8::cli {

ProgressBar::ProgressBar(std::string label, Unit unit)
    : label_(std::move(label)), unit_(unit), tty_(::isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()) {}

void ProgressBar::update(uint64_t done, uint64_t total, const std::string& count, const std::string& current) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double fraction = total ? double(done) / double(total) : 1.0;
  const int decile = int(fraction * 10);
  // At 100% the count may still move (tensors without bytes, the last tensor's bookkeeping): draw those.
  const bool final_change = done == total && count != last_count_;
  if (!final_change && (tty_ ? now - last_draw_ < std::chrono::milliseconds(100) : decile == last_decile_)) return;
  last_draw_ = now;
  last_decile_ = decile;
  last_count_ = count;
  const double rate = elapsed > 0 ? double(done) / elapsed : 0.0;
  const double eta = rate > 0 ? double(total - done) / rate : 0.0;
  char bar[21];
  for (int i = 0; i < 20; ++i) bar[i] = i < int(fraction * 20) ? '#' : '.';
  bar[20] = 0;
  char amount[128];
  if (unit_ == Unit::bytes)
    std::snprintf(amount, sizeof amount, "%.2f/%.2f GB, %.2f GB/s", double(done) / 1e9, double(total) / 1e9, rate / 1e9);
  else
    std::snprintf(amount, sizeof amount, "%llu/%llu tokens, %.0f tokens/s", static_cast<unsigned long long>(done),
                  static_cast<unsigned long long>(total), rate);
  char line[512];
  std::snprintf(line, sizeof line, "%s [%s] %3.0f%% %s, %s, ETA %.0fs  %.60s", label_.c_str(), bar, fraction * 100,
                count.c_str(), amount, eta, current.c_str());
  last_line_ = line;
  std::fprintf(stderr, tty_ ? "\r\033[K%s" : "%s\n", line);
}

void ProgressBar::finish() {
  if (tty_ && !last_line_.empty()) std::fprintf(stderr, "\n");
}

}  // namespace hifp8::cli
