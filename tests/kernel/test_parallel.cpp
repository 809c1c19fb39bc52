// parallel_for: every index runs exactly once, back-to-back loops of different sizes on the shared
// pool (workers that poll between jobs must not take a chunk of the next job early), two callers at
// once, and exceptions reach the caller.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "hifp8/kernel/parallel.h"

namespace hifp8::kernel {
namespace {

// Runs parallel_for over n items (min 1 per thread) and checks each index was visited once.
void expect_each_index_once(size_t n, int threads) {
  std::vector<std::atomic<int>> visits(n);
  parallel_for(n, threads, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) visits[i].fetch_add(1);
  }, 1);
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(visits[i].load(), 1) << "n=" << n << " index " << i;
}

TEST(ParallelFor, EveryIndexOnceAcrossManyBackToBackLoops) {
  for (int round = 0; round < 2000; ++round) expect_each_index_once(size_t(1 + round % 37), 0);
}

TEST(ParallelFor, TwoCallersAtOnce) {
  std::thread other([] {
    for (int round = 0; round < 500; ++round) expect_each_index_once(size_t(3 + round % 11), 0);
  });
  for (int round = 0; round < 500; ++round) expect_each_index_once(size_t(5 + round % 13), 0);
  other.join();
}

TEST(ParallelFor, ExceptionsReachTheCaller) {
  EXPECT_THROW(parallel_for(64, 0, [](size_t begin, size_t) {
                 if (begin > 0) throw std::runtime_error("chunk failed");
               }, 1),
               std::runtime_error);
  expect_each_index_once(100, 0);  // the pool still works
}

}  // namespace
}  // namespace hifp8::kernel
