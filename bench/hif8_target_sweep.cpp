// Sweeps HiF8's quantization target (the value a group's amax is scaled to) over synthetic weight-like
// tensors and prints SQNR per target as a markdown table; FP8 E4M3 and INT8 at their usual targets are
// printed as references. Used to choose kHif8DefaultTarget (docs/formats.md).
//   hif8_target_sweep [--rows R] [--cols C] [--seed S]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "hifp8/format/format.h"
#include "hifp8/quant/error_stats.h"
#include "hifp8/quant/quantized_tensor.h"

namespace {

using hifp8::Granularity;

struct Distribution {
  const char* name;
  std::function<float(std::mt19937&)> draw;
};

double sqnr(const std::vector<float>& x, const std::vector<int64_t>& shape, const hifp8::FormatInfo& f,
            const Granularity& g, float target) {
  const hifp8::QuantizedTensor q = hifp8::quantize(x, shape, f, g, {.target = target});
  return hifp8::error_stats(x, hifp8::dequantize(q)).sqnr_db;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 512, cols = 4096;
  uint32_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rows")) rows = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--cols")) cols = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seed")) seed = uint32_t(std::atoll(argv[i + 1]));
  }
  const std::vector<Distribution> distributions = {
      {"Gaussian", [](std::mt19937& r) { return std::normal_distribution<float>()(r); }},
      {"Laplacian", [](std::mt19937& r) {
         const float u = std::uniform_real_distribution<float>(-0.5f, 0.5f)(r);
         return -std::copysign(std::log1p(-2.0f * std::fabs(u)), u);
       }},
      {"Student-t (5 dof)", [](std::mt19937& r) { return std::student_t_distribution<float>(5.0f)(r); }},
      {"Student-t (3 dof)", [](std::mt19937& r) { return std::student_t_distribution<float>(3.0f)(r); }},
  };
  const std::vector<int64_t> shape = {rows, cols};
  std::vector<std::vector<float>> data;
  for (const Distribution& d : distributions) {
    std::mt19937 rng(seed);
    std::vector<float> x(size_t(rows * cols));
    for (float& v : x) v = d.draw(rng);
    data.push_back(std::move(x));
  }
  const float targets[] = {1, 2, 4, 8, 12, 16, 24, 32, 64, 128, 256, 1024, 4096, 32768};
  const hifp8::FormatInfo& hif8 = hifp8::find_format("hif8");
  for (const char* granularity : {"channel", "tensor"}) {
    const Granularity g = Granularity::parse(granularity);
    std::printf("\nSQNR in dB, %s granularity, %lld x %lld tensors, seed %u\n\n| target |", granularity,
                (long long)rows, (long long)cols, seed);
    for (const Distribution& d : distributions) std::printf(" %s |", d.name);
    std::printf(" mean |\n|---|");
    for (size_t i = 0; i <= distributions.size(); ++i) std::printf("---:|");
    std::printf("\n");
    float best_target = 0;
    double best_mean = -1e9;
    for (float t : targets) {
      std::printf("| HiF8 %g |", double(t));
      double sum = 0;
      for (const auto& x : data) {
        const double s = sqnr(x, shape, hif8, g, t);
        sum += s;
        std::printf(" %.2f |", s);
      }
      std::printf(" %.2f |\n", sum / double(data.size()));
      if (sum / double(data.size()) > best_mean) best_mean = sum / double(data.size()), best_target = t;
      std::fflush(stdout);
    }
    for (const char* other : {"fp8_e4m3fn", "fp8_e5m2", "int8"}) {
      const hifp8::FormatInfo& f = hifp8::find_format(other);
      std::printf("| %s %g |", other, double(f.max_finite));
      double sum = 0;
      for (const auto& x : data) {
        const double s = sqnr(x, shape, f, g, f.max_finite);
        sum += s;
        std::printf(" %.2f |", s);
      }
      std::printf(" %.2f |\n", sum / double(data.size()));
    }
    std::printf("\nbest HiF8 target by mean SQNR (%s): %g (%.2f dB)\n", granularity, double(best_target), best_mean);
  }
}
