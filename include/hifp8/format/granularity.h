#pragma once
// How many elements share one scale. Described by data (kind + sizes), parsed from strings such as
// "tensor", "channel", "token", "group:128", "block:128x128".
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hifp8 {

enum class GranularityKind {
  tensor,   // one scale
  channel,  // one per row of an [out, in] weight (output channel)
  token,    // one per row of [tokens, hidden] activations (same math as channel)
  group,    // one per `group_size` consecutive elements of the last dimension
  block,    // one per block_rows x block_cols tile of the trailing two dimensions; ragged edges allowed
};

struct Granularity {
  GranularityKind kind = GranularityKind::tensor;
  int64_t group_size = 128;
  int64_t block_rows = 128;
  int64_t block_cols = 128;

  static Granularity parse(std::string_view text);  // throws Error naming the text
  std::string to_string() const;

  // The scale tensor's shape for data of `shape` (tensor: [1]; channel/token: [rows, 1];
  // group: [..., cols / group]; block: [ceil(rows / br), ceil(cols / bc)]). Throws Error when the
  // shape does not fit (no dimensions for channel, a last dimension not divisible by the group, ...).
  std::vector<int64_t> scale_shape(std::span<const int64_t> shape) const;
};

}  // namespace hifp8
