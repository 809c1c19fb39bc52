// hifp8 bench kernels: throughput of every format's array kernels next to memcpy of the same bytes,
// measured in the same run with the same threads (medians of --runs paired runs after one warm-up).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "hifp8/error.h"
#include "hifp8/format/format.h"
#include "hifp8/kernel/array_ops.h"
#include "hifp8/kernel/parallel.h"

namespace hifp8::cli {
namespace {

struct BenchArgs {
  size_t size = size_t{64} << 20;
  int threads = 0;
  int runs = 9;
  bool json = false;
  bool include_scalar = false;
};

double seconds(const std::function<void()>& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// memcpy reading and writing `bytes` in total (half each), split across the same threads. Memory
// bandwidth on a shared machine drifts by 2x within seconds, so each kernel run is paired with a
// memcpy run right before it and the ratio is the median of the per-pair ratios.
class MemcpyBaseline {
 public:
  MemcpyBaseline(size_t max_bytes, int threads) : src_(max_bytes / 2, 1), dst_(max_bytes / 2), threads_(threads) {}
  void run(size_t bytes) {
    const size_t half = bytes / 2;
    kernel::parallel_for(half, threads_, [&](size_t b, size_t e) { std::memcpy(dst_.data() + b, src_.data() + b, e - b); });
  }

 private:
  std::vector<uint8_t> src_, dst_;
  int threads_;
};

struct Timing {
  double kernel_seconds;
  double memcpy_ratio;
};

Timing measure_paired(int runs, MemcpyBaseline& baseline, size_t bytes, const std::function<void()>& fn) {
  baseline.run(bytes);
  fn();  // warm-up: page faults, caches, thread start
  std::vector<double> kernel_times, ratios;
  for (int i = 0; i < runs; ++i) {
    const double m = seconds([&] { baseline.run(bytes); });
    const double k = seconds(fn);
    kernel_times.push_back(k);
    ratios.push_back(m / k);
  }
  return {median(kernel_times), median(ratios)};
}

struct Row {
  std::string format, op, path;
  double gelem_per_s, gb_per_s, memcpy_ratio;
};

void run_bench(const BenchArgs& a) {
  if (a.size == 0) throw Error("--size must be > 0");
  if (a.runs < 1) throw Error("--runs must be >= 1");
  const int threads = kernel::resolve_threads(a.threads);
  const size_t n = a.size;
  std::fprintf(stderr, "bench kernels: %zu elements, %d threads, median of %d runs\n", n, threads, a.runs);
  std::vector<float> x(n), y(n);
  std::vector<uint8_t> codes(n);
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& v : x) v = normal(rng);  // N(0,1): the unit-variance data quantization sees after scaling

  MemcpyBaseline memcpy_baseline(8 * n, threads);
  std::vector<Row> rows;
  auto measure = [&](const FormatInfo& f, const char* op, std::string_view path, size_t bytes_per_elem,
                     const std::function<void()>& fn) {
    std::fprintf(stderr, "  %-11s %-10s %-6s ...", std::string(f.name).c_str(), op, std::string(path).c_str());
    const Timing t = measure_paired(a.runs, memcpy_baseline, n * bytes_per_elem, fn);
    const double bytes = double(n) * double(bytes_per_elem);
    rows.push_back({std::string(f.name), op, std::string(path), n / t.kernel_seconds / 1e9,
                    bytes / t.kernel_seconds / 1e9, t.memcpy_ratio});
    std::fprintf(stderr, " %.2f Gelem/s, %.2f GB/s, %.2fx memcpy\n", rows.back().gelem_per_s, rows.back().gb_per_s,
                 rows.back().memcpy_ratio);
  };

  for (const FormatInfo& f : all_formats()) {
    const float scale = f.max_finite / 8.0f;  // keeps N(0,1) data inside every format's range when divided
    for (auto path : {kernel::EncodePath::vperm, kernel::EncodePath::math, kernel::EncodePath::lut,
                      kernel::EncodePath::scalar}) {
      if (!kernel::has_encode_path(f, path) || (path == kernel::EncodePath::scalar && !a.include_scalar)) continue;
      const kernel::KernelOptions options{Overflow::saturate, threads, path};
      std::vector<float> scaled(x);
      for (float& v : scaled) v *= scale;
      measure(f, "encode", kernel::encode_path_name(path), 5,
              [&] { kernel::encode(f, scaled.data(), codes.data(), n, options); });
    }
    kernel::encode(f, x.data(), codes.data(), n, {Overflow::saturate, threads});
    measure(f, "decode", "auto", 5, [&] { kernel::decode(f, codes.data(), y.data(), n, threads); });
    measure(f, "fake_quant", "auto", 8, [&] {
      kernel::fake_quant(f, x.data(), y.data(), n, 1.0f / scale, {Overflow::saturate, threads});
    });
  }

  if (a.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Row& r : rows)
      out.push_back({{"format", r.format}, {"op", r.op}, {"path", r.path}, {"threads", threads}, {"elements", n},
                     {"gelem_per_s", r.gelem_per_s}, {"gb_per_s", r.gb_per_s}, {"memcpy_ratio", r.memcpy_ratio}});
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("| format | op | path | Gelem/s | GB/s | vs memcpy |\n|---|---|---|---:|---:|---:|\n");
  for (const Row& r : rows)
    std::printf("| %s | %s | %s | %.2f | %.2f | %.2f |\n", r.format.c_str(), r.op.c_str(), r.path.c_str(),
                r.gelem_per_s, r.gb_per_s, r.memcpy_ratio);
}

}  // namespace

void add_bench_command(CLI::App& app) {
  CLI::App* bench = app.add_subcommand("bench", "Benchmarks");
  bench->require_subcommand(1);
  add_bench_matmul_command(*bench);
  add_bench_engine_command(*bench);
  auto args = std::make_shared<BenchArgs>();
  CLI::App* kernels = bench->add_subcommand("kernels", "Encode/decode/fake-quant throughput vs memcpy");
  kernels->add_option("--size", args->size, "Elements per array (default 64M)");
  kernels->add_option("--threads", args->threads, "Threads (0: all cores)");
  kernels->add_option("--runs", args->runs, "Timed runs per kernel, each paired with a memcpy run; medians reported (default 9)");
  kernels->add_flag("--json", args->json, "Print one JSON array of result objects");
  kernels->add_flag("--include-scalar", args->include_scalar, "Also time the scalar reference encoder");
  kernels->callback([args] { run_bench(*args); });
}

}  // namespace hifp8::cli
