#pragma once
// Helpers for the CUDA tests: skip visibly without a GPU, move vectors to and from the device.
#include <gtest/gtest.h>

#include <vector>

#include "hifp8/kernel/cuda.h"

namespace hifp8::test {

// Use at the top of every CUDA test: without a device the test is reported as skipped, with why.
#define HIFP8_REQUIRE_CUDA()                                                                \
  do {                                                                                      \
    if (!::hifp8::cuda::available())                                                        \
      GTEST_SKIP() << "CUDA test skipped: " << ::hifp8::cuda::describe_device();            \
  } while (0)

template <class T>
cuda::DeviceBuffer to_device(const std::vector<T>& host) {
  cuda::DeviceBuffer buffer(host.size() * sizeof(T));
  if (!host.empty()) buffer.upload(host.data(), host.size() * sizeof(T));
  return buffer;
}

template <class T>
std::vector<T> to_host(const cuda::DeviceBuffer& buffer, size_t count) {
  std::vector<T> host(count);
  if (count) buffer.download(host.data(), count * sizeof(T));
  return host;
}

}  // namespace hifp8::test
