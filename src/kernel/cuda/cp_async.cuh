#pragma once
// Asynchronous global -> shared memory copies (sm_80+ cp.async): issue, commit as a group, wait until
// at most Pending groups are still in flight. Shared by the kernels that prefetch tiles.
#include <cstdint>

namespace hifp8::cuda::detail {

__device__ __forceinline__ void copy_async16(void* shared, const void* global) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(uint32_t(__cvta_generic_to_shared(shared))),
               "l"(global));
}
__device__ __forceinline__ void copy_async8(void* shared, const void* global) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 8;\n" ::"r"(uint32_t(__cvta_generic_to_shared(shared))),
               "l"(global));
}
__device__ __forceinline__ void commit_copies() { asm volatile("cp.async.commit_group;\n"); }
template <int Pending>
__device__ __forceinline__ void wait_copies() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending));
}

}  // namespace hifp8::cuda::detail
