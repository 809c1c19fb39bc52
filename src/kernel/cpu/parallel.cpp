#include "hifp8/kernel/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace hifp8::kernel {
namespace {

thread_local bool in_pool_worker = false;

// Workers started once and parked between jobs: an engine step issues ~100 small parallel loops per
// token, where starting threads each time would cost more than the work. One job at a time; a
// parallel_for that finds the pool busy, or runs inside a worker, runs on its own thread.
class Pool {
 public:
  static Pool& instance() {
    static Pool pool(std::max(1u, std::thread::hardware_concurrency()) - 1);
    return pool;
  }

  size_t workers() const { return threads_.size(); }

  // Runs fn(c) for c in [0, chunks) on the workers and the calling thread; false if busy.
  bool run(size_t chunks, const std::function<void(size_t)>& fn) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    errors_.assign(chunks, nullptr);
    {
      const std::lock_guard<std::mutex> guard(lock_);
      job_ = &fn;
      chunks_ = chunks;
      next_.store(0);
      pending_.store(chunks);
      ++generation_;
    }
    wake_.notify_all();
    work();
    while (pending_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
    job_ = nullptr;
    for (const std::exception_ptr& e : errors_)
      if (e) std::rethrow_exception(e);
    return true;
  }

  ~Pool() {
    {
      const std::lock_guard<std::mutex> guard(lock_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

 private:
  explicit Pool(size_t n) {
    for (size_t i = 0; i < n; ++i) threads_.emplace_back([this] { loop(); });
  }

  void work() {
    for (size_t c; (c = next_.fetch_add(1)) < chunks_;) {
      try {
        (*job_)(c);
      } catch (...) {
        errors_[c] = std::current_exception();
      }
      pending_.fetch_sub(1, std::memory_order_release);
    }
  }

  void loop() {
    in_pool_worker = true;
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> guard(lock_);
        wake_.wait(guard, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      work();
    }
  }

  std::vector<std::thread> threads_;
  std::mutex busy_, lock_;
  std::condition_variable wake_;
  const std::function<void(size_t)>* job_ = nullptr;
  size_t chunks_ = 0;
  std::atomic<size_t> next_{0}, pending_{0};
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::vector<std::exception_ptr> errors_;
};

}  // namespace

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  return std::max(1u, std::thread::hardware_concurrency());
}

void parallel_for(size_t n, int threads, const std::function<void(size_t, size_t)>& fn, size_t min_per_thread) {
  if (n == 0) return;
  const size_t by_size = std::max<size_t>(1, n / std::max<size_t>(1, min_per_thread));
  const size_t chunks = std::min<size_t>(static_cast<size_t>(resolve_threads(threads)), by_size);
  if (chunks <= 1 || in_pool_worker) {
    fn(0, n);
    return;
  }
  // Chunk boundaries on 64-element multiples keep every chunk's vectors aligned like the whole array's.
  // Short ranges (rows, blocks, tiles rather than elements) are split evenly instead, or rounding up
  // to 64 would leave every item on the first thread.
  const size_t even = (n + chunks - 1) / chunks;
  const size_t step = even >= 4096 ? (even + 63) / 64 * 64 : even;
  const auto chunk = [&](size_t c) {
    const size_t begin = std::min(n, c * step), end = std::min(n, begin + step);
    if (begin < end) fn(begin, end);
  };
  if (Pool::instance().workers() > 0 && Pool::instance().run(chunks, chunk)) return;
  // Pool busy (another thread's loop): run this one's chunks here, in order.
  for (size_t c = 0; c < chunks; ++c) chunk(c);
}

}  // namespace hifp8::kernel
