#include "gpu_stats.h"

#include <algorithm>
#include <cmath>

#include "hifp8/error.h"
#include "hifp8/format/bits.h"
#include "kernel/cuda/launch.h"

namespace hifp8::model::gpu {
namespace {

constexpr int kColumns = 128, kRowsPerBlock = 64;

// AbsHistogram::bin in float arithmetic (a value within about 1e-7 of a bin edge may land next door).
__device__ __forceinline__ int abs_bin(float a) {
  if (!(a > 0)) return 0;
  const float pos = (log2f(a) - float(AbsHistogram::kMinExp)) * float(AbsHistogram::kPerOctave);
  return int(fminf(fmaxf(pos, 0.0f), float(AbsHistogram::kBins - 1)));
}

// A block covers 128 columns by 64 rows: each thread one column. Max |x| (finite values; non-negative
// floats order as their bits) by atomicMax, the histogram in shared memory, then added to global.
__global__ void __launch_bounds__(kColumns) column_stats_kernel(const uint16_t* x, int rows, int64_t n,
                                                                unsigned* amax_bits, unsigned long long* histogram) {
  extern __shared__ unsigned local[];
  if (histogram) {
    for (int i = int(threadIdx.x); i < int(AbsHistogram::kBins); i += blockDim.x) local[i] = 0;
    __syncthreads();
  }
  const int64_t c = int64_t{blockIdx.x} * kColumns + threadIdx.x;
  const int r0 = int(blockIdx.y) * kRowsPerBlock, r1 = min(rows, r0 + kRowsPerBlock);
  if (c < n) {
    float m = 0;
    for (int r = r0; r < r1; ++r) {
      const float a = fabsf(__uint_as_float(uint32_t{x[int64_t{r} * n + c]} << 16));
      if (isfinite(a)) m = fmaxf(m, a);
      if (histogram) atomicAdd(&local[abs_bin(a)], 1u);
    }
    if (m > 0) atomicMax(&amax_bits[c], __float_as_uint(m));
  }
  if (histogram) {
    __syncthreads();
    for (int i = int(threadIdx.x); i < int(AbsHistogram::kBins); i += blockDim.x)
      if (local[i]) atomicAdd(&histogram[i], (unsigned long long){local[i]});
  }
}

}  // namespace

void DeviceStats::add(const std::vector<std::string>& names, const uint16_t* x, int rows, int64_t n, cudaStream_t s) {
  if (rows <= 0) return;
  Entry& e = entries_[names.front()];
  if (e.n == 0) {
    e.names = names, e.n = n;
    e.keep = into_->rows_to_keep(names.front());
    e.amax_bits = cuda::DeviceBuffer(size_t(n) * 4);
    cuda::check(cudaMemsetAsync(e.amax_bits.data(), 0, size_t(n) * 4, s), "cudaMemsetAsync");
    if (into_->options().histogram) {
      e.histogram = cuda::DeviceBuffer(AbsHistogram::kBins * 8);
      cuda::check(cudaMemsetAsync(e.histogram.data(), 0, AbsHistogram::kBins * 8, s), "cudaMemsetAsync");
    }
    if (e.keep) e.samples = cuda::DeviceBuffer(e.keep * size_t(n) * 2);
  }
  if (e.n != n) throw Error("activation statistics: " + names.front() + " changed width");
  const dim3 grid(unsigned((n + kColumns - 1) / kColumns), unsigned((rows + kRowsPerBlock - 1) / kRowsPerBlock));
  const size_t shared = e.histogram.data() ? AbsHistogram::kBins * 4 : 0;
  column_stats_kernel<<<grid, kColumns, shared, s>>>(x, rows, n, e.amax_bits.as<unsigned>(),
                                                       e.histogram.as<unsigned long long>());
  cuda::check_launch("column_stats_kernel");
  // Reservoir rows: runs of rows going to consecutive places are one copy.
  const size_t row_bytes = size_t(n) * 2;
  for (int r = 0; r < rows;) {
    const size_t slot = reservoir_slot(e.rows + uint64_t(r), e.keep);
    int run = 1;
    if (slot < e.keep)
      while (r + run < rows && slot + size_t(run) < e.keep &&
             reservoir_slot(e.rows + uint64_t(r + run), e.keep) == slot + size_t(run))
        ++run;
    if (slot < e.keep)
      cuda::check(cudaMemcpyAsync(e.samples.as<uint8_t>() + slot * row_bytes, x + int64_t{r} * n, size_t(run) * row_bytes,
                                  cudaMemcpyDeviceToDevice, s),
                  "copy reservoir rows");
    r += run;
  }
  e.rows += uint64_t(rows);
}

void DeviceStats::flush(cudaStream_t s) {
  for (auto& [key, e] : entries_) {
    ActivationStats a;
    a.rows = e.rows;
    a.channel_amax.resize(size_t(e.n));
    cuda::check(cudaMemcpyAsync(a.channel_amax.data(), e.amax_bits.data(), size_t(e.n) * 4, cudaMemcpyDeviceToHost, s),
                "copy channel amax");
    if (e.histogram.data()) {
      a.histogram.resize(AbsHistogram::kBins);
      cuda::check(cudaMemcpyAsync(a.histogram.data(), e.histogram.data(), AbsHistogram::kBins * 8, cudaMemcpyDeviceToHost, s),
                  "copy histogram");
    }
    std::vector<uint16_t> rows(std::min<uint64_t>(e.rows, e.keep) * size_t(e.n));
    if (!rows.empty())
      cuda::check(cudaMemcpyAsync(rows.data(), e.samples.data(), rows.size() * 2, cudaMemcpyDeviceToHost, s),
                  "copy reservoir rows");
    cuda::check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    a.samples.resize(rows.size());
    std::transform(rows.begin(), rows.end(), a.samples.begin(), [](uint16_t v) { return bf16_to_f32(v); });
    for (const std::string& name : e.names) into_->merge(name, a);
  }
  entries_.clear();
}

void trace_parts(const ActivationObserver& trace, const std::vector<std::string>& names,
                 const std::vector<int64_t>& widths, const float* y, int rows, cudaStream_t s) {
  int64_t width = 0;
  for (int64_t w : widths) width += w;
  std::vector<float> all(size_t(rows) * size_t(width)), part;
  cuda::check(cudaMemcpyAsync(all.data(), y, all.size() * 4, cudaMemcpyDeviceToHost, s), "copy trace");
  cuda::check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  int64_t column = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    const auto w = size_t(widths[i]);
    part.resize(size_t(rows) * w);
    for (int r = 0; r < rows; ++r) std::copy_n(&all[size_t(r * width + column)], w, &part[size_t(r) * w]);
    trace(names[i], part.data(), size_t(rows), w);
    column += widths[i];
  }
}

}  // namespace hifp8::model::gpu
