#pragma once
// A minimal fork-join over contiguous index ranges. Kernels are memory-bound, so one contiguous
// chunk per thread (no work stealing) is what reaches the bandwidth limit.
#include <cstddef>
#include <functional>

namespace hifp8::kernel {

// 0 (or negative) means all hardware threads.
int resolve_threads(int requested);

// Runs fn(begin, end) over [0, n) split into at most `threads` chunks, none smaller than min_per_thread
// (small inputs stay on the calling thread); chunks of 4096+ items are multiples of 64 except the last.
// An exception thrown by any chunk is rethrown on the calling thread after all chunks finish.
void parallel_for(size_t n, int threads, const std::function<void(size_t, size_t)>& fn,
                  size_t min_per_thread = size_t{1} << 15);

}  // namespace hifp8::kernel
