#pragma once
// Test checkpoints made from others: every tensor of `in` read as float32, passed through `edit`
// (name, values, shape), written to `out` as `dtype` (F32 or BF16) with the same config.json.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "hifp8/io/tensor_dtype.h"

namespace hifp8::test {

using TensorEdit = std::function<void(const std::string& name, std::vector<float>& values, const std::vector<int64_t>& shape)>;

std::filesystem::path rewrite_checkpoint(const std::filesystem::path& in, const std::filesystem::path& out, io::TensorDType dtype,
                                         const TensorEdit& edit = {});

}  // namespace hifp8::test
