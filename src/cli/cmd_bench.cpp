// hifp8 bench kernels: throughput of every format's array kernels next to memcpy of the same bytes,
// measured in the same run with the same threads (median of --runs after one warm-up).
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
  int runs = 7;
  bool json = false;
  bool include_scalar = false;
};

double median_seconds(int runs, const std::function<void()>& fn) {
  fn();  // warm-up: page faults, caches, thread start
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// Seconds for memcpy to read and write `bytes` in total (half each), split across the same threads.
class MemcpyBaseline {
 public:
  MemcpyBaseline(int threads, int runs) : threads_(threads), runs_(runs) {}
  double seconds(size_t bytes) {
    auto it = cache_.find(bytes);
    if (it != cache_.end()) return it->second;
    const size_t half = bytes / 2;
    std::vector<uint8_t> src(half, 1), dst(half);
    const double s = median_seconds(runs_, [&] {
      kernel::parallel_for(half, threads_, [&](size_t b, size_t e) { std::memcpy(dst.data() + b, src.data() + b, e - b); });
    });
    return cache_[bytes] = s;
  }

 private:
  int threads_, runs_;
  std::map<size_t, double> cache_;
};

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

  MemcpyBaseline memcpy_baseline(threads, a.runs);
  std::vector<Row> rows;
  auto measure = [&](const FormatInfo& f, const char* op, std::string_view path, size_t bytes_per_elem,
                     const std::function<void()>& fn) {
    std::fprintf(stderr, "  %-11s %-10s %-6s ...", std::string(f.name).c_str(), op, std::string(path).c_str());
    const double t = median_seconds(a.runs, fn);
    const double bytes = double(n) * double(bytes_per_elem);
    const double base = memcpy_baseline.seconds(n * bytes_per_elem);
    rows.push_back({std::string(f.name), op, std::string(path), n / t / 1e9, bytes / t / 1e9, base / t});
    std::fprintf(stderr, " %.2f Gelem/s, %.2f GB/s, %.2fx memcpy\n", rows.back().gelem_per_s, rows.back().gb_per_s,
                 rows.back().memcpy_ratio);
  };

  for (const FormatInfo& f : all_formats()) {
    const float scale = f.max_finite / 8.0f;  // keeps N(0,1) data inside every format's range when divided
    for (auto path : {kernel::EncodePath::math, kernel::EncodePath::lut, kernel::EncodePath::scalar}) {
      if (!kernel::has_encode_path(f, path) || (path == kernel::EncodePath::scalar && !a.include_scalar)) continue;
      const kernel::KernelOptions options{Overflow::saturate, threads, path};
      std::vector<float> scaled(x);
      for (float& v : scaled) v *= scale;
      measure(f, "encode", kernel::encode_path_name(path), 5,
              [&] { kernel::encode(f, scaled.data(), codes.data(), n, options); });
    }
    kernel::encode(f, x.data(), codes.data(), n, {Overflow::saturate, threads});
    measure(f, "decode", "table", 5, [&] { kernel::decode(f, codes.data(), y.data(), n, threads); });
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
  auto args = std::make_shared<BenchArgs>();
  CLI::App* kernels = bench->add_subcommand("kernels", "Encode/decode/fake-quant throughput vs memcpy");
  kernels->add_option("--size", args->size, "Elements per array (default 64M)");
  kernels->add_option("--threads", args->threads, "Threads (0: all cores)");
  kernels->add_option("--runs", args->runs, "Timed runs per kernel; the median is reported (default 7)");
  kernels->add_flag("--json", args->json, "Print one JSON array of result objects");
  kernels->add_flag("--include-scalar", args->include_scalar, "Also time the scalar reference encoder");
  kernels->callback([args] { run_bench(*args); });
}

}  // namespace hifp8::cli
