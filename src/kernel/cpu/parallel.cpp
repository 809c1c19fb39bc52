#include "hifp8/kernel/parallel.h"

#include <algorithm>
#include <exception>
#include <thread>
#include <vector>

namespace hifp8::kernel {

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  return std::max(1u, std::thread::hardware_concurrency());
}

void parallel_for(size_t n, int threads, const std::function<void(size_t, size_t)>& fn,
                  size_t min_per_thread) {
  if (n == 0) return;
  const size_t by_size = std::max<size_t>(1, n / std::max<size_t>(1, min_per_thread));
  const size_t chunks = std::min<size_t>(static_cast<size_t>(resolve_threads(threads)), by_size);
  if (chunks <= 1) {
    fn(0, n);
    return;
  }
  // Chunk boundaries on 64-element multiples keep every chunk's vectors aligned like the whole array's.
  // Short ranges (rows, blocks, tiles rather than elements) are split evenly instead, or rounding up
  // to 64 would leave every item on the first thread.
  const size_t even = (n + chunks - 1) / chunks;
  const size_t step = even >= 4096 ? (even + 63) / 64 * 64 : even;
  std::vector<std::exception_ptr> errors(chunks);
  std::vector<std::thread> workers;
  workers.reserve(chunks - 1);
  auto run = [&](size_t c) {
    const size_t begin = std::min(n, c * step);
    const size_t end = std::min(n, begin + step);
    if (begin >= end) return;
    try {
      fn(begin, end);
    } catch (...) {
      errors[c] = std::current_exception();
    }
  };
  for (size_t c = 1; c < chunks; ++c) workers.emplace_back(run, c);
  run(0);
  for (std::thread& w : workers) w.join();
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace hifp8::kernel
