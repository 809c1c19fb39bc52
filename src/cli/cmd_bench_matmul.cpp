// hifp8 bench matmul: the engine's linear layer (y = x W^T) on one weight of a model, for a few token
// counts, in GFLOP/s next to the machine's float32 FMA peak measured in the same run.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "hifp8/error.h"
#include "hifp8/io/checkpoint.h"
#include "hifp8/io/checkpoint_inspect.h"
#include "hifp8/kernel/array_ops.h"
#include "hifp8/kernel/parallel.h"
#include "hifp8/model/linear.h"

namespace hifp8::cli {
namespace {

struct MatmulArgs {
  std::string model, module = "model.layers.0.mlp.up_proj", tokens = "1,8,128";
  int runs = 9, threads = 0;
};

void run_matmul(const MatmulArgs& a) {
  const io::Checkpoint ckpt = io::Checkpoint::open(a.model);
  const model::Linear linear = model::Linear::load(ckpt, io::read_quantization_layout(ckpt.config()), a.module);
  const double peak = kernel::measure_fma_peak(a.threads);
  std::printf("%s: [%lld, %lld] %s weights; float32 FMA peak %.1f GFLOP/s (%d threads)\n", a.module.c_str(),
              (long long)linear.out(), (long long)linear.in(), linear.quantized() ? linear.format()->name.data() : "float",
              peak / 1e9, kernel::resolve_threads(a.threads));
  std::printf("%8s %12s %12s %10s\n", "tokens", "ms", "GFLOP/s", "of peak");
  std::stringstream list(a.tokens);
  std::string item;
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  while (std::getline(list, item, ',')) {
    const size_t t = std::stoul(item);
    std::vector<float> x(t * size_t(linear.in())), y(t * size_t(linear.out()));
    for (float& v : x) v = normal(rng);
    std::vector<double> times;
    for (int r = 0; r <= a.runs; ++r) {
      const auto start = std::chrono::steady_clock::now();
      linear.forward(x.data(), t, y.data(), model::ActQuant::none, a.threads);
      if (r) times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    const double s = times[times.size() / 2], flops = 2.0 * double(t) * double(linear.in()) * double(linear.out());
    std::printf("%8zu %12.3f %12.2f %9.1f%%\n", t, s * 1e3, flops / s / 1e9, 100.0 * flops / s / peak);
  }
}

}  // namespace

void add_bench_matmul_command(CLI::App& bench) {
  auto a = std::make_shared<MatmulArgs>();
  CLI::App* cmd = bench.add_subcommand("matmul", "Engine linear layer GFLOP/s against the measured FMA peak");
  cmd->add_option("--model", a->model, "Model directory")->required();
  cmd->add_option("--module", a->module, "Linear module (default model.layers.0.mlp.up_proj)");
  cmd->add_option("--tokens", a->tokens, "Token counts, comma-separated (default 1,8,128)");
  cmd->add_option("--runs", a->runs, "Timed runs per point; median reported (default 9)");
  cmd->add_option("--threads", a->threads, "Threads (0: all cores)");
  cmd->callback([a] { run_matmul(*a); });
}

}  // namespace hifp8::cli
