#pragma once
// The runs of a tensor that share one scale, for every granularity: the one walk that quantize,
// dequantize and fake_quantize share. The tensor is [rows, cols] (leading dimensions folded). A
// "scale row" is the rows that share one row of scales (block: block_rows rows; otherwise one row);
// each of its rows splits into segments of `segment` columns, each segment one scale. Tensor
// granularity is a single segment of the whole tensor.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "hifp8/kernel/parallel.h"
#include "hifp8/format/granularity.h"

namespace hifp8::detail {

class ScaledRuns {
 public:
  ScaledRuns(const Granularity& g, std::span<const int64_t> shape) {
    size_t n = 1;
    for (int64_t d : shape) n *= static_cast<size_t>(d);
    cols_ = shape.empty() ? 1 : static_cast<size_t>(shape.back());
    rows_ = cols_ ? n / cols_ : 0;
    segment_ = cols_;
    switch (g.kind) {
      case GranularityKind::tensor: rows_ = n ? 1 : 0, cols_ = n, segment_ = n; break;
      case GranularityKind::channel:
      case GranularityKind::token: break;
      case GranularityKind::group: segment_ = static_cast<size_t>(g.group_size); break;
      case GranularityKind::block:
        rows_per_scale_row_ = static_cast<size_t>(g.block_rows);
        segment_ = static_cast<size_t>(g.block_cols);
        break;
    }
    segments_per_row_ = segment_ ? (cols_ + segment_ - 1) / segment_ : 0;
  }

  size_t scale_rows() const { return (rows_ + rows_per_scale_row_ - 1) / rows_per_scale_row_; }
  // Scale indices of scale row R are [first_scale(R), first_scale(R) + scales_per_row()).
  size_t first_scale(size_t R) const { return R * segments_per_row_; }
  size_t scales_per_row() const { return segments_per_row_; }

  // fn(scale_index, offset, length) for every segment of scale row R, row by row.
  template <class Fn>
  void for_each_segment(size_t R, Fn&& fn) const {
    const size_t r0 = R * rows_per_scale_row_, r1 = std::min(rows_, r0 + rows_per_scale_row_);
    for (size_t r = r0; r < r1; ++r)
      for (size_t j = 0; j < segments_per_row_; ++j) {
        const size_t c0 = j * segment_;
        fn(first_scale(R) + j, r * cols_ + c0, std::min(cols_, c0 + segment_) - c0);
      }
  }

  // fn(R, inner_threads) for every scale row, the scale rows spread over `threads`. A lone scale row
  // (tensor granularity, one block row) gets the threads for its own kernels instead.
  template <class Fn>
  void parallel(int threads, Fn&& fn) const {
    const size_t count = scale_rows();
    if (count == 1) return fn(size_t{0}, threads);
    const size_t per_row = std::max<size_t>(1, rows_per_scale_row_ * cols_);
    constexpr size_t kWorkPerThread = size_t{1} << 15;  // elements; below this, threads cost more than they save
    kernel::parallel_for(count, threads, [&](size_t begin, size_t end) {
      for (size_t R = begin; R < end; ++R) fn(R, 1);
    }, std::max<size_t>(1, kWorkPerThread / per_row));
  }

 private:
  size_t rows_ = 0, cols_ = 0, segment_ = 0, segments_per_row_ = 0, rows_per_scale_row_ = 1;
};

}  // namespace hifp8::detail
