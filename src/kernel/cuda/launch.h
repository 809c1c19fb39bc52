#pragma once
// Launch helpers shared by the CUDA kernels: the device's multiprocessor count (grid sizing), the
// error check after each launch, and stream-ordered scratch memory.
#include <cstddef>

namespace hifp8::cuda {

int sm_count();  // of the current device, read once
// Throws Error naming `kernel` if the last launch failed.
void check_launch(const char* kernel);
// Stream-ordered scratch from a pool of this backend's own (one per device) that keeps its memory
// between calls: the default pool hands its memory back at every synchronisation, and mapping it
// again cost ~0.3 ms per tensor-granularity quantization (docs/BENCHMARKS.md, Python section).
void* scratch_alloc(size_t bytes, void* stream);
void scratch_free(void* p, void* stream);

}  // namespace hifp8::cuda
