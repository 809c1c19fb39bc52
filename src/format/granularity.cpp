#include "hifp8/format/granularity.h"

#include <charconv>

#include "hifp8/error.h"

namespace hifp8 {
namespace {

int64_t parse_positive(std::string_view text, std::string_view whole) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0)
    throw Error("bad granularity '" + std::string(whole) + "': '" + std::string(text) + "' is not a positive integer");
  return value;
}

std::string shape_string(std::span<const int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

Granularity Granularity::parse(std::string_view text) {
  Granularity g;
  const size_t colon = text.find(':');
  const std::string_view kind = text.substr(0, colon);
  const std::string_view args = colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1);
  if (kind == "tensor" && args.empty()) {
    g.kind = GranularityKind::tensor;
  } else if (kind == "channel" && args.empty()) {
    g.kind = GranularityKind::channel;
  } else if (kind == "token" && args.empty()) {
    g.kind = GranularityKind::token;
  } else if (kind == "group") {
    g.kind = GranularityKind::group;
    if (!args.empty()) g.group_size = parse_positive(args, text);
  } else if (kind == "block") {
    g.kind = GranularityKind::block;
    if (!args.empty()) {
      const size_t x = args.find('x');
      g.block_rows = parse_positive(args.substr(0, x), text);
      g.block_cols = x == std::string_view::npos ? g.block_rows : parse_positive(args.substr(x + 1), text);
    }
  } else {
    throw Error("unknown granularity '" + std::string(text) +
                "' (known: tensor, channel, token, group[:N], block[:RxC])");
  }
  return g;
}

std::string Granularity::to_string() const {
  switch (kind) {
    case GranularityKind::tensor: return "tensor";
    case GranularityKind::channel: return "channel";
    case GranularityKind::token: return "token";
    case GranularityKind::group: return "group:" + std::to_string(group_size);
    case GranularityKind::block: return "block:" + std::to_string(block_rows) + "x" + std::to_string(block_cols);
  }
  return "?";
}

std::vector<int64_t> Granularity::scale_shape(std::span<const int64_t> shape) const {
  for (int64_t d : shape)
    if (d < 0) throw Error("negative dimension in shape " + shape_string(shape));
  const int64_t cols = shape.empty() ? 1 : shape.back();
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < shape.size(); ++i) rows *= shape[i];
  switch (kind) {
    case GranularityKind::tensor: return {1};
    case GranularityKind::channel:
    case GranularityKind::token:
      if (shape.empty()) throw Error(to_string() + " granularity needs at least one dimension, got a scalar");
      return {rows, 1};
    case GranularityKind::group: {
      if (shape.empty() || cols % group_size != 0)
        throw Error("group size " + std::to_string(group_size) + " does not divide the last dimension of shape " +
                    shape_string(shape));
      std::vector<int64_t> s(shape.begin(), shape.end());
      s.back() = cols / group_size;
      return s;
    }
    case GranularityKind::block:
      if (shape.size() < 2) throw Error("block granularity needs a 2-D (or higher) tensor, got shape " + shape_string(shape));
      return {(rows + block_rows - 1) / block_rows, (cols + block_cols - 1) / block_cols};
  }
  return {1};
}

}  // namespace hifp8
