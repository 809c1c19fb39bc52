// CUDA kernel benchmarks, each next to its baseline from the same run (device-to-device copy of the
// same bytes, cuBLAS bf16). A sample times 10 back-to-back calls between two events (rotating
// through enough buffers to defeat the 50 MB L2 where the operands are small); the median of 30.
// Prints a table; --json FILE writes one JSON object a row. Run by scripts/device-check.sh.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "hifp8/format/bits.h"
#include "hifp8/format/format.h"
#include "hifp8/kernel/cuda.h"
#include "hifp8/kernel/cuda_attention.h"
#include "model/cuda/gpu_layers.h"
#include "hifp8/kernel/cuda_matmul.h"
#include "hifp8/quant/quantized_tensor.h"

namespace hifp8 {
namespace {

using cuda::DeviceBuffer;
using kernel::DType;

FILE* g_json = nullptr;

// Median milliseconds of one call; fn(i) runs call i (i selects the rotating buffer).
double time_ms(const std::function<void(int)>& fn, int calls_per_sample = 10, int samples = 30) {
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  for (int i = 0; i < 3; ++i) fn(i);
  std::vector<float> ms;
  int call = 0;
  for (int s = 0; s < samples; ++s) {
    cudaEventRecord(start);
    for (int i = 0; i < calls_per_sample; ++i) fn(call++);
    cudaEventRecord(stop);
    cudaEventSynchronize(stop);
    float t = 0;
    cudaEventElapsedTime(&t, start, stop);
    ms.push_back(t / float(calls_per_sample));
  }
  cuda::check(cudaGetLastError(), "benchmark");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

void report(const std::string& group, const std::string& name, double ms, const std::string& metric, double value,
            const std::string& baseline, double baseline_ms, double ratio) {
  std::printf("%-10s %-44s %9.4f ms %10.1f %-8s | %-22s %9.4f ms  x%.2f\n", group.c_str(), name.c_str(), ms, value,
              metric.c_str(), baseline.c_str(), baseline_ms, ratio);
  if (g_json)
    std::fprintf(g_json,
                 "{\"group\":\"%s\",\"name\":\"%s\",\"ms\":%.6f,\"metric\":\"%s\",\"value\":%.3f,\"baseline\":\"%s\","
                 "\"baseline_ms\":%.6f,\"ratio\":%.4f}\n",
                 group.c_str(), name.c_str(), ms, metric.c_str(), value, baseline.c_str(), baseline_ms, ratio);
}

std::vector<float> random_values(size_t n, float sigma, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

DeviceBuffer random_device(size_t n, DType dtype, float sigma, uint64_t seed) {
  const std::vector<float> v = random_values(n, sigma, seed);
  std::vector<uint8_t> bytes(n * kernel::dtype_size(dtype));
  kernel::narrow(v.data(), bytes.data(), dtype, n);
  DeviceBuffer b(bytes.size());
  b.upload(bytes.data(), bytes.size());
  return b;
}

// Copy bandwidth (bytes read + written per second) for `bytes`, and its time.
double copy_ms(size_t bytes) {
  DeviceBuffer a(bytes), b(bytes);
  cudaMemset(a.data(), 1, bytes);
  return time_ms([&](int) { cudaMemcpyAsync(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice); });
}

void bench_formats() {
  constexpr size_t n = 50'000'000;
  const double copy_f32 = copy_ms(n * 4);
  const double bw = 2.0 * n * 4 / (copy_f32 * 1e-3);
  report("copy", "device-to-device 200 MB", copy_f32, "TB/s", bw / 1e12, "-", copy_f32, 1.0);
  DeviceBuffer x32 = random_device(n, DType::f32, 1.0f, 1), x16 = random_device(n, DType::bf16, 1.0f, 2);
  DeviceBuffer codes(n), out(n * 4), scales((n / 4096 + 1) * 4);
  for (const FormatInfo& f : all_formats()) {
    const std::string fmt(f.name);
    // Each kernel against a copy of the bytes it moves (read + written), timed in the same run.
    const auto row = [&](const std::string& what, double ms, size_t bytes_moved) {
      const double copy = copy_ms(bytes_moved / 2);
      report("format", fmt + " " + what, ms, "Gelem/s", n / (ms * 1e-3) / 1e9, "copy same bytes", copy, copy / ms);
    };
    row("encode f32", time_ms([&](int) { cuda::encode(f, x32.data(), DType::f32, codes.as<uint8_t>(), n, Overflow::saturate); }), n * 5);
    row("decode to bf16", time_ms([&](int) { cuda::decode(f, codes.as<uint8_t>(), out.data(), DType::bf16, n); }), n * 3);
    row("decode to f32", time_ms([&](int) { cuda::decode(f, codes.as<uint8_t>(), out.data(), DType::f32, n); }), n * 5);
    const cuda::Matrix act{x16.data(), DType::bf16, int64_t(n / 4096), 4096};
    const size_t act_n = size_t(act.rows * act.cols);
    const double per_token = time_ms([&](int) {
      cuda::quantize(f, act, Granularity::parse("token"), default_target(f), codes.as<uint8_t>(), scales.as<float>());
    });
    report("dynquant", fmt + " per-token bf16 (fused, 1 kernel)", per_token, "Gelem/s", act_n / (per_token * 1e-3) / 1e9,
           "copy same bytes", copy_ms(act_n * 3 / 2), copy_ms(act_n * 3 / 2) / per_token);
    const cuda::Matrix whole{x16.data(), DType::bf16, 1, int64_t(n)};
    const double per_tensor = time_ms([&](int) {
      cuda::quantize(f, whole, Granularity::parse("tensor"), default_target(f), codes.as<uint8_t>(), scales.as<float>());
    });
    report("dynquant", fmt + " per-tensor bf16 (amax + encode)", per_tensor, "Gelem/s", n / (per_tensor * 1e-3) / 1e9,
           "copy same bytes", copy_ms(n * 3 / 2), copy_ms(n * 3 / 2) / per_tensor);
  }
}

struct Shape {
  const char* name;
  int64_t n, k;
};

void bench_gemv(bool quick) {
  const Shape all_shapes[] = {{"qkv 6144x4096", 6144, 4096},       {"o 4096x4096", 4096, 4096},
                          {"gate/up 14336x4096", 14336, 4096}, {"gate_up 28672x4096", 28672, 4096},
                          {"down 4096x14336", 4096, 14336},    {"lm_head 128256x4096", 128256, 4096}};
  // quick: the fused shapes the engine runs (qkv, o, gate_up, down), per channel, m = 1 and 16
  const std::vector<Shape> shapes = quick ? std::vector<Shape>{all_shapes[0], all_shapes[1], all_shapes[3], all_shapes[4]}
                                          : std::vector<Shape>(std::begin(all_shapes), std::end(all_shapes));
  const double copy_bw = 2.0 * 1e9 / (copy_ms(size_t(1e9)) * 1e-3);
  for (const Shape& s : shapes) {
    const size_t wn = size_t(s.n * s.k);
    const int copies = int(std::max<size_t>(1, (size_t(400) << 20) / wn));  // > 8x L2 in rotation
    std::vector<DeviceBuffer> bf16_w;
    for (int i = 0; i < std::max(1, copies / 2); ++i) bf16_w.push_back(random_device(wn, DType::bf16, 0.02f, 10 + i));
    DeviceBuffer x = random_device(size_t(16 * s.k), DType::bf16, 1.0f, 3), y(size_t(16 * s.n) * 2);
    const std::vector<float> values = random_values(wn, 0.02f, 7);
    for (const char* fmt_name : {"fp8_e4m3fn", "fp8_e5m2", "int8", "hif8"})
      for (const char* gran : {"channel", "group:128"}) {
        const bool headline = std::string(fmt_name) == "fp8_e4m3fn" || std::string(fmt_name) == "hif8";
        const bool channel = std::string(gran) == "channel";
        // full: every format per channel, E4M3 and HiF8 per group too; quick: every format per channel
        if (quick ? !channel : !(channel || headline)) continue;
        const FormatInfo& f = find_format(fmt_name);
        const Granularity g = Granularity::parse(gran);
        const QuantizedTensor q = quantize(values, std::vector<int64_t>{s.n, s.k}, f, g);
        const std::vector<uint8_t> packed = cuda::pack_w8(q.codes.data(), s.n, s.k);
        const bool finite = cuda::codes_finite(f, q.codes.data(), q.codes.size());
        std::vector<DeviceBuffer> w;
        for (int i = 0; i < copies; ++i) {
          w.emplace_back(packed.size());
          w.back().upload(packed.data(), packed.size());
        }
        DeviceBuffer sc(q.scales.size() * 4);
        sc.upload(q.scales.data(), q.scales.size() * 4);
        for (int64_t m : {1, 2, 4, 8, 16}) {
          if ((quick || std::string(gran) != "channel") && m != 1 && m != 16) continue;
          const double ms = time_ms([&](int i) {
            const cuda::W8Weights weights{&f, cuda::w8_layout(s.n, s.k), w[i % copies].as<uint8_t>(), sc.as<float>(), g,
                                      finite};
            cuda::matmul_w8a16(weights, x.as<uint16_t>(), m, y.as<uint16_t>());
          });
          const double base = time_ms([&](int i) {
            cuda::matmul_bf16(x.as<uint16_t>(), bf16_w[i % bf16_w.size()].as<uint16_t>(), m, s.n, s.k, y.as<uint16_t>());
          });
          const double weight_bw = double(wn) / (ms * 1e-3);
          report("w8a16", std::string(s.name) + " " + fmt_name + " " + gran + " m=" + std::to_string(m), ms,
                 "%copyBW", 100.0 * weight_bw / copy_bw, "cuBLAS bf16", base, base / ms);
          const cuda::W8Weights w0{&f, cuda::w8_layout(s.n, s.k), w[0].as<uint8_t>(), sc.as<float>(), g, finite};
          if (!cuda::w8a8_supported(w0)) continue;
          // The same product with the activations quantized per token (W8A8, cuBLASLt FP8), as the engine's
          // --act-quant dynamic runs it: quantization, GEMM and scales.
          DeviceBuffer xc(size_t(16 * w0.layout.k_padded)), xs(16 * 4), y32(size_t(16 * s.n) * 4), g16(size_t(16 * s.n) * 2);
          const double w8a8 = time_ms([&](int i) {
            const cuda::W8Weights weights{&f, cuda::w8_layout(s.n, s.k), w[i % copies].as<uint8_t>(), sc.as<float>(), g,
                                          finite};
            cuda::quantize_activations_w8(x.as<uint16_t>(), m, weights.layout, default_target(f), xc.as<uint8_t>(),
                                          xs.as<float>());
            cuda::matmul_w8a8(weights, xc.as<uint8_t>(), xs.as<float>(), m, y32.as<float>(), g16.as<uint16_t>());
          });
          report("w8a8", std::string(s.name) + " " + fmt_name + " " + gran + " m=" + std::to_string(m), w8a8, "%copyBW",
                 100.0 * double(wn) / (w8a8 * 1e-3) / copy_bw, "cuBLAS bf16", base, base / w8a8);
        }
      }
  }
}

// One launch each of the W8A16 kernel on gate_up 28672x4096 (E4M3 and HiF8, m = 1 and 16) for a
// profiler: `ncu -k regex:w8a16 cuda_bench gemv-profile`.
void bench_gemv_profile() {
  const int64_t n = 28672, k = 4096;
  const std::vector<float> values = random_values(size_t(n * k), 0.02f, 7);
  DeviceBuffer x = random_device(size_t(16 * k), DType::bf16, 1.0f, 3), y(size_t(16 * n) * 2);
  for (const char* fmt_name : {"fp8_e4m3fn", "hif8"}) {
    const FormatInfo& f = find_format(fmt_name);
    const Granularity g = Granularity::parse("channel");
    const QuantizedTensor q = quantize(values, std::vector<int64_t>{n, k}, f, g);
    const std::vector<uint8_t> packed = cuda::pack_w8(q.codes.data(), n, k);
    DeviceBuffer w(packed.size()), sc(q.scales.size() * 4);
    w.upload(packed.data(), packed.size());
    sc.upload(q.scales.data(), q.scales.size() * 4);
    const cuda::W8Weights weights{&f, cuda::w8_layout(n, k), w.as<uint8_t>(), sc.as<float>(), g,
                                  cuda::codes_finite(f, q.codes.data(), q.codes.size())};
    for (int64_t m : {1, 16}) cuda::matmul_w8a16(weights, x.as<uint16_t>(), m, y.as<uint16_t>());
  }
  cuda::check(cudaDeviceSynchronize(), "gemv-profile");
  std::printf("gemv-profile: gate_up 28672x4096, fp8_e4m3fn m=1, m=16, hif8 m=1, m=16\n");
}

// The fused prompt attention at Llama-3-8B's shape (32 query heads, 8 KV heads, head_dim 128), bf16,
// causal from position 0; bench/attention_baseline.py times PyTorch's SDPA on the same shapes.
void bench_attention() {
  const int64_t heads = 32, kv_heads = 8, hd = 128;
  for (int rows : {512, 4096}) {
    DeviceBuffer q = random_device(size_t(heads * rows * hd), DType::bf16, 1.0f, 21);
    DeviceBuffer k = random_device(size_t(rows * kv_heads * hd), DType::bf16, 1.0f, 22);
    DeviceBuffer v = random_device(size_t(rows * kv_heads * hd), DType::bf16, 1.0f, 23);
    DeviceBuffer out(size_t(rows * heads * hd) * 2);
    const double ms = time_ms([&](int) {
      cuda::flash_attention({q.as<uint16_t>(), k.as<uint16_t>(), v.as<uint16_t>(), out.as<uint16_t>(), rows, 0, 0, heads,
                             kv_heads, hd});
    }, 5, 20);
    const double pairs = double(rows) * double(rows + 1) / 2;  // causal (query, key) pairs
    const double flop = 4.0 * double(heads) * double(hd) * pairs;
    report("attention", "flash prefill " + std::to_string(rows) + " tokens, 32/8 heads, d 128", ms, "TFLOP/s",
           flop / (ms * 1e-3) / 1e12, "-", ms, 1.0);
  }
}

// One decoding step's attention at Llama-3-8B's shape (32 query heads on 8 KV heads, head_dim 128,
// bf16 cache) for `rows` sequences at 4096 positions: the per-(row, head) kernel against the split
// (flash-decoding) kernel, and the KV bytes each step reads against copy bandwidth.
void bench_decode_attention() {
  const int64_t heads = 32, kv_heads = 8, hd = 128, positions = 4096;
  for (int rows : {1, 16}) {
    DeviceBuffer q = random_device(size_t(rows * heads * hd), DType::f32, 1.0f, 31);
    DeviceBuffer k = random_device(size_t(rows * positions * kv_heads * hd), DType::bf16, 1.0f, 32);
    DeviceBuffer v = random_device(size_t(rows * positions * kv_heads * hd), DType::bf16, 1.0f, 33);
    DeviceBuffer ctx(size_t(rows * heads * hd) * 2), split_o(size_t(rows * heads * model::gpu::kMaxSplits * hd) * 4),
        split_ml(size_t(rows * heads * model::gpu::kMaxSplits) * 8);
    std::vector<int32_t> slot(static_cast<size_t>(rows)), pos(static_cast<size_t>(rows), int32_t(positions - 1));
    for (int r = 0; r < rows; ++r) slot[size_t(r)] = r;
    DeviceBuffer slot_dev(size_t(rows) * 4), pos_dev(size_t(rows) * 4);
    slot_dev.upload(slot.data(), slot.size() * 4);
    pos_dev.upload(pos.data(), pos.size() * 4);
    const model::gpu::KvLayout layout{nullptr, positions, kv_heads, hd};
    const auto step = [&](bool split) {
      model::gpu::AttentionArgs a{q.as<float>(), ctx.as<uint16_t>(), rows, heads, 0, {}};
      if (split) a.split = {split_o.as<float>(), split_ml.as<float2>(), rows};
      model::gpu::attention(a, {slot_dev.as<int32_t>(), pos_dev.as<int32_t>()}, layout, {k.data(), nullptr, nullptr},
                            {v.data(), nullptr, nullptr}, nullptr);
    };
    const double per_head = time_ms([&](int) { step(false); }, 5, 20), split = time_ms([&](int) { step(true); }, 5, 20);
    const double bytes = 2.0 * double(rows) * double(positions * kv_heads * hd) * 2;
    const std::string shape = "decode " + std::to_string(rows) + " x 4096 positions, 32/8 heads, d 128";
    report("attention", shape + ", per-head", per_head, "GB/s", bytes / (per_head * 1e-3) / 1e9, "-", per_head, 1.0);
    report("attention", shape + ", split", split, "GB/s", bytes / (split * 1e-3) / 1e9, "per-head", per_head, per_head / split);
  }
}

// The sampler served requests draw from (gpu::sample) on a Llama-3 vocabulary of random logits.
void bench_sample() {
  const int64_t vocab = 128256;
  for (int rows : {1, 16}) {
    DeviceBuffer logits = random_device(size_t(rows * vocab), DType::f32, 3.0f, 41), out(size_t(rows) * 4);
    for (const model::gpu::SampleParams base : {model::gpu::SampleParams{0.8f, 0.95f, 40, 0},
                                                model::gpu::SampleParams{1.0f, 0.9f, 0, 0},
                                                model::gpu::SampleParams{0.0f, 1.0f, 0, 0}}) {
      std::vector<model::gpu::SampleParams> params(static_cast<size_t>(rows), base);
      DeviceBuffer p(params.size() * sizeof(model::gpu::SampleParams));
      p.upload(params.data(), p.bytes());
      const double ms = time_ms([&](int) {
        model::gpu::sample(logits.as<float>(), rows, vocab, p.as<model::gpu::SampleParams>(), out.as<int32_t>(), nullptr);
      }, 5, 20);
      char name[96];
      std::snprintf(name, sizeof name, "%d rows, T %.1f top-k %lld top-p %.2f", rows, double(base.temperature),
                    (long long)base.top_k, double(base.top_p));
      report("sample", name, ms, "rows/ms", rows / ms, "-", ms, 1.0);
    }
  }
}

void bench_gemm() {
  struct Gemm {
    int64_t m, n, k;
  };
  const FormatInfo& e4m3 = find_format("fp8_e4m3fn");
  for (const Gemm& s : {Gemm{8192, 8192, 8192}, Gemm{1024, 14336, 4096}}) {
    DeviceBuffer a(size_t(s.m * s.k)), b(size_t(s.n * s.k)), y(size_t(s.m * s.n) * 2);
    DeviceBuffer a16 = random_device(size_t(s.m * s.k), DType::bf16, 1.0f, 4);
    DeviceBuffer b16 = random_device(size_t(s.n * s.k), DType::bf16, 0.02f, 5);
    DeviceBuffer sa(size_t(s.m) * 4), sb(size_t(s.n) * 4);
    cuda::quantize(e4m3, {a16.data(), DType::bf16, s.m, s.k}, Granularity::parse("token"), 448.0f, a.as<uint8_t>(), sa.as<float>());
    cuda::quantize(e4m3, {b16.data(), DType::bf16, s.n, s.k}, Granularity::parse("channel"), 448.0f, b.as<uint8_t>(), sb.as<float>());
    const double flop = 2.0 * double(s.m) * double(s.n) * double(s.k);
    const std::string shape = std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k);
    const double bf16 = time_ms([&](int) {
      cuda::matmul_bf16(a16.as<uint16_t>(), b16.as<uint16_t>(), s.m, s.n, s.k, y.as<uint16_t>());
    }, 5, 20);
    report("gemm", "bf16 cuBLASLt " + shape, bf16, "TFLOP/s", flop / (bf16 * 1e-3) / 1e12, "-", bf16, 1.0);
    for (bool per_row : {false, true}) {
      const double ms = time_ms([&](int) {
        cuda::matmul_fp8({a.as<uint8_t>(), sa.as<float>(), per_row}, {b.as<uint8_t>(), sb.as<float>(), per_row}, s.m,
                         s.n, s.k, y.as<uint16_t>());
      }, 5, 20);
      report("gemm", std::string("fp8 W8A8 ") + (per_row ? "row/col scales " : "tensor scales ") + shape, ms, "TFLOP/s",
             flop / (ms * 1e-3) / 1e12, "cuBLAS bf16", bf16, bf16 / ms);
    }
    // The engine's W8A8 prefill: bf16 activations quantized per token into the packed k order, the FP8
    // GEMM on the packed E4M3 weights, both scales applied to the float32 output; against the bf16 GEMM
    // with float32 output (what the engine runs for bf16 weights).
    {
      std::vector<uint8_t> codes(size_t(s.n * s.k));
      b.download(codes.data(), codes.size());
      const std::vector<uint8_t> packed = cuda::pack_w8(codes.data(), s.n, s.k);
      DeviceBuffer wp(packed.size()), xc(size_t(s.m * s.k)), xs(size_t(s.m) * 4), y32(size_t(s.m * s.n) * 4),
          scratch(size_t(s.m * s.n) * 2);
      wp.upload(packed.data(), packed.size());
      const cuda::W8Weights w8{&e4m3, cuda::w8_layout(s.n, s.k), wp.as<uint8_t>(), sb.as<float>(),
                               Granularity::parse("channel"), true};
      const double bf16_f32 = time_ms([&](int) {
        cuda::matmul_bf16(a16.as<uint16_t>(), b16.as<uint16_t>(), s.m, s.n, s.k, y32.as<float>());
      }, 5, 20);
      const double quant = time_ms([&](int) {
        cuda::quantize_activations_w8(a16.as<uint16_t>(), s.m, w8.layout, default_target(e4m3), xc.as<uint8_t>(),
                                      xs.as<float>());
      }, 5, 20);
      const double gemm = time_ms([&](int) {
        cuda::matmul_w8a8(w8, xc.as<uint8_t>(), xs.as<float>(), s.m, y32.as<float>(), scratch.as<uint16_t>());
      }, 5, 20);
      report("gemm", "bf16 cuBLASLt float32 out " + shape, bf16_f32, "TFLOP/s", flop / (bf16_f32 * 1e-3) / 1e12, "-",
             bf16_f32, 1.0);
      report("gemm", "engine W8A8: quantize activations " + shape, quant, "% of bf16", 100.0 * quant / bf16_f32,
             "bf16 float32 out", bf16_f32, bf16_f32 / quant);
      report("gemm", "engine W8A8: FP8 GEMM + scales " + shape, gemm, "TFLOP/s", flop / (gemm * 1e-3) / 1e12,
             "bf16 float32 out", bf16_f32, bf16_f32 / gemm);
      report("gemm", "engine W8A8: quantize + GEMM " + shape, quant + gemm, "TFLOP/s",
             flop / ((quant + gemm) * 1e-3) / 1e12, "bf16 float32 out", bf16_f32, bf16_f32 / (quant + gemm));
    }
    // HiF8 weights for prefill as the engine runs them: the packed weight decoded to bf16, then the GEMM.
    const FormatInfo& hif8 = find_format("hif8");
    DeviceBuffer hc(size_t(s.n * s.k)), hs(size_t(s.n) * 4), wb(size_t(s.n * s.k) * 2);
    cuda::quantize(hif8, {b16.data(), DType::bf16, s.n, s.k}, Granularity::parse("channel"), 16.0f, hc.as<uint8_t>(), hs.as<float>());
    std::vector<uint8_t> codes(size_t(s.n * s.k));
    hc.download(codes.data(), codes.size());
    const std::vector<uint8_t> packed = cuda::pack_w8(codes.data(), s.n, s.k);
    DeviceBuffer hp(packed.size());
    hp.upload(packed.data(), packed.size());
    const cuda::W8Weights w8{&hif8, cuda::w8_layout(s.n, s.k), hp.as<uint8_t>(), hs.as<float>(), Granularity::parse("channel")};
    const double decode_ms = time_ms([&](int) { cuda::dequantize_w8(w8, wb.as<uint16_t>()); }, 5, 20);
    report("gemm", "hif8 W8A16 prefill: decode to bf16 " + shape, decode_ms, "% of bf16", 100.0 * decode_ms / bf16,
           "cuBLAS bf16", bf16, bf16 / decode_ms);
    report("gemm", "hif8 W8A16 prefill: decode + bf16 GEMM " + shape, decode_ms + bf16, "TFLOP/s",
           flop / ((decode_ms + bf16) * 1e-3) / 1e12, "cuBLAS bf16", bf16, bf16 / (decode_ms + bf16));
    const double generic = time_ms([&](int) {
      cuda::dequantize(hif8, hc.as<uint8_t>(), hs.as<float>(), s.n, s.k, Granularity::parse("channel"), wb.data(), DType::bf16);
    }, 5, 20);
    report("gemm", "hif8 cuda::dequantize (row-major) " + shape, generic, "GB/s", double(s.n * s.k) * 3 / (generic * 1e-3) / 1e9,
           "decode packed", decode_ms, decode_ms / generic);
  }
  std::printf("cuBLASLt per-row (outer vector) FP8 scales on this GPU: %s\n",
              cuda::fp8_outer_vector_scales_supported() ? "yes" : "no (applied by a separate kernel)");
}

}  // namespace
}  // namespace hifp8

int main(int argc, char** argv) {
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--json") && i + 1 < argc) hifp8::g_json = std::fopen(argv[++i], "w");
    else only = argv[i];
  }
  if (!hifp8::cuda::available()) {
    std::printf("cuda_bench: %s\n", hifp8::cuda::describe_device().c_str());
    return 1;
  }
  std::printf("device: %s\n", hifp8::cuda::describe_device().c_str());
  try {
    if (only.empty() || only == "formats") hifp8::bench_formats();
    if (only.empty() || only == "gemv") hifp8::bench_gemv(false);
    if (only == "gemv-quick") hifp8::bench_gemv(true);
    if (only == "gemv-profile") hifp8::bench_gemv_profile();
    if (only.empty() || only == "attention") hifp8::bench_attention();
    if (only.empty() || only == "attention" || only == "decode-attention") hifp8::bench_decode_attention();
    if (only.empty() || only == "sample") hifp8::bench_sample();
    if (only.empty() || only == "gemm") hifp8::bench_gemm();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cuda_bench: %s\n", e.what());
    return 1;
  }
  if (hifp8::g_json) std::fclose(hifp8::g_json);
  return 0;
}
