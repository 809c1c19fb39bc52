#include "hifp8/kernel/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace hifp8::kernel {
namespace {

thread_local bool in_pool_worker = false;

// A CPU's spin-wait hint (x86 pause), else nothing.
inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// How long a worker keeps polling for the next job before it sleeps. A decode step issues its
// parallel loops tens of microseconds apart; waking a sleeping worker through the condition variable
// cost about a fifth of a 2-thread decode step in scheduler calls (perf, 2026-12-01).
constexpr auto kSpinBeforeSleep = std::chrono::microseconds(200);

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
    uint64_t generation;
    {
      const std::lock_guard<std::mutex> guard(lock_);
      job_ = &fn;
      chunks_ = chunks;
      pending_.store(chunks);
      generation = generation_.load() + 1;
      next_.store(generation << 32);  // chunk 0 of this generation
      generation_.store(generation);
    }
    wake_.notify_all();
    work(generation);
    while (pending_.load(std::memory_order_acquire) != 0) relax();
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

  // Runs chunks of job `generation` until none is left. next_ holds (generation << 32) | next chunk:
  // a worker still looping after its job ended cannot claim a chunk of the next one before it has
  // seen that job's fields.
  void work(uint64_t generation) {
    for (;;) {
      uint64_t claim = next_.load();
      do {
        if (claim >> 32 != (generation & 0xffffffffu) || (claim & 0xffffffffu) >= chunks_) return;
      } while (!next_.compare_exchange_weak(claim, claim + 1));
      const size_t c = claim & 0xffffffffu;
      try {
        (*job_)(c);
      } catch (...) {
        errors_[c] = std::current_exception();
      }
      pending_.fetch_sub(1, std::memory_order_release);
    }
  }

  // Polls for a new generation for kSpinBeforeSleep; true if one came.
  bool spin_for_job(uint64_t seen) const {
    const auto until = std::chrono::steady_clock::now() + kSpinBeforeSleep;
    for (int i = 1;; ++i) {
      if (generation_.load(std::memory_order_acquire) != seen) return true;
      relax();
      if (i % 256 == 0 && std::chrono::steady_clock::now() > until) return false;
    }
  }

  void loop() {
    in_pool_worker = true;
    uint64_t seen = 0;
    for (;;) {
      if (!spin_for_job(seen)) {
        std::unique_lock<std::mutex> guard(lock_);
        wake_.wait(guard, [&] { return stop_ || generation_.load() != seen; });
      }
      {
        const std::lock_guard<std::mutex> guard(lock_);  // the job's fields, written under it
        if (stop_) return;
        seen = generation_.load();
      }
      work(seen);
    }
  }

  std::vector<std::thread> threads_;
  std::mutex busy_, lock_;
  std::condition_variable wake_;
  const std::function<void(size_t)>* job_ = nullptr;
  size_t chunks_ = 0;
  std::atomic<uint64_t> next_{0};
  std::atomic<size_t> pending_{0};
  std::atomic<uint64_t> generation_{0};
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
