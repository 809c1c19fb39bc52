// The GPU engine: uploads a loaded CPU Model, runs prefill in chunks and decode steps as CUDA graphs.
#include <cuda_runtime.h>

#include <algorithm>
#include <map>
#include <string>

#include "gpu_layers.h"
#include "gpu_stats.h"
#include "hifp8/error.h"
#include "hifp8/format/bits.h"
#include "hifp8/kernel/cuda.h"
#include "hifp8/kernel/cuda_attention.h"
#include "hifp8/kernel/cuda_matmul.h"
#include "hifp8/model/gpu_model.h"
#include "hifp8/model/sampler.h"

namespace hifp8::model {
namespace {

using cuda::DeviceBuffer;

// Rows per prefill pass (bounds the scratch buffers): long enough that an 8-bit weight's decode to
// bf16 for the GEMM is spread over many rows.
constexpr int kPrefillChunk = 2048;

template <class T>
DeviceBuffer upload(const std::vector<T>& v) {
  DeviceBuffer b(v.size() * sizeof(T));
  if (!v.empty()) b.upload(v.data(), v.size() * sizeof(T));
  return b;
}

// The rows of several linears with the same input, stacked into one (q/k/v, gate/up): one launch
// instead of several. 8-bit codes stay 8-bit when the parts share format and granularity (and block
// rows do not straddle parts); otherwise the stack is held in bf16.
bool stackable_in_8bit(const std::vector<const Linear*>& parts) {
  const Linear& first = *parts.front();
  if (!first.format()) return false;
  for (const Linear* p : parts) {
    const Granularity& g = p->granularity();
    if (p->format() != first.format() || g.to_string() != first.granularity().to_string()) return false;
    if (g.kind == GranularityKind::tensor && parts.size() > 1) return false;  // one scale for all rows
    if (g.kind == GranularityKind::block && p->out() % g.block_rows != 0) return false;
  }
  return true;
}

// Device scratch of the linears: an 8-bit weight decoded to bf16 (prefill), and quantized inputs.
struct Scratch {
  uint16_t* weights = nullptr;
  uint8_t* act_codes = nullptr;  // W8A8: E4M3 codes in the packed k order, and their per-row scales
  float* act_scales = nullptr;
  uint16_t* act_bf16 = nullptr;  // dynamic fake-quantized inputs (formats without W8A8)
  uint16_t* out_bf16 = nullptr;  // W8A8: the GEMM's bf16 result before its scales
};

// One linear layer on the GPU: 8-bit codes in the W8A16 kernel's layout with their scales, or bf16.
struct GpuLinear {
  int64_t n = 0, k = 0;
  std::vector<std::string> names;  // the stacked modules (they share this input), in stacking order
  std::vector<int64_t> widths;     // their rows
  const FormatInfo* format = nullptr;
  Granularity granularity;
  bool finite_codes = false;
  DeviceBuffer codes, scales, weights_bf16, bias;

  static GpuLinear upload_from(const std::vector<const Linear*>& parts) {
    GpuLinear g;
    g.k = parts.front()->in();
    bool any_bias = false;
    for (const Linear* p : parts) {
      g.n += p->out(), any_bias |= !p->bias().empty();
      g.names.push_back(p->name());
      g.widths.push_back(p->out());
    }
    std::vector<float> bias;
    for (const Linear* p : parts) {
      if (p->bias().empty()) bias.insert(bias.end(), size_t(p->out()), 0.0f);
      else bias.insert(bias.end(), p->bias().begin(), p->bias().end());
    }
    if (any_bias) g.bias = upload(bias);
    if (stackable_in_8bit(parts)) {
      g.format = parts.front()->format();
      g.granularity = parts.front()->granularity();
      std::vector<uint8_t> codes;
      std::vector<float> scales;
      for (const Linear* p : parts) {
        codes.insert(codes.end(), p->weight_bytes(), p->weight_bytes() + p->out() * p->in());
        scales.insert(scales.end(), p->scales().begin(), p->scales().end());
      }
      g.codes = upload(cuda::pack_w8(codes.data(), g.n, g.k));
      g.scales = upload(scales);
      g.finite_codes = cuda::codes_finite(*g.format, codes.data(), codes.size());
      return g;
    }
    std::vector<float> row(size_t(g.k));
    std::vector<uint16_t> bf16(size_t(g.n * g.k));
    int64_t at = 0;
    for (const Linear* p : parts) {
      if (!p->format() && p->wide_dtype() == kernel::DType::bf16) {  // as stored
        std::copy_n(reinterpret_cast<const uint16_t*>(p->weight_bytes()), p->out() * g.k, &bf16[size_t(at * g.k)]);
        at += p->out();
        continue;
      }
      for (int64_t o = 0; o < p->out(); ++o, ++at) {
        p->weight_row(o, row.data());
        for (int64_t i = 0; i < g.k; ++i) bf16[size_t(at * g.k + i)] = f32_to_bf16(row[size_t(i)]);
      }
    }
    g.weights_bf16 = upload(bf16);
    return g;
  }

  cuda::W8Weights w8() const {
    return {format, cuda::w8_layout(n, k), codes.as<uint8_t>(), scales.as<float>(), granularity, finite_codes};
  }
  size_t scratch_bytes() const { return format ? size_t(n * k) * 2 : 0; }

  // y[m, n] = x[m, k] W^T + b in float32, the inputs quantized as `act` says (GpuOptions::act_quant).
  void forward(const uint16_t* x, int m, float* y, const Scratch& scratch, ActQuant act, cudaStream_t s) const {
    const float* b = bias.as<float>();
    // automatic: W8A8 from 9 rows on (at 16 rows gate_up ran 1.44x faster than W8A16 on the H200), W8A16 below.
    if (format && (act == ActQuant::dynamic || (act == ActQuant::automatic && m > 8))) {
      if (cuda::w8a8_supported(w8())) {
        cuda::quantize_activations_w8(x, m, w8().layout, default_target(*format), scratch.act_codes, scratch.act_scales, s);
        cuda::matmul_w8a8(w8(), scratch.act_codes, scratch.act_scales, m, y, scratch.out_bf16, b, s);
        return;
      }
      if (act == ActQuant::dynamic) {  // the CPU engine's per-token fake quantization, in bf16
        cuda::fake_quant(*format, {x, kernel::DType::bf16, m, k}, Granularity::parse("token"), default_target(*format),
                         scratch.act_bf16, s);
        x = scratch.act_bf16;
      }
    }
    if (format && m <= 16) {
      cuda::matmul_w8a16(w8(), x, m, y, b, s);
      return;
    }
    const uint16_t* w = weights_bf16.as<uint16_t>();
    if (format) {
      cuda::dequantize_w8(w8(), scratch.weights, s);
      w = scratch.weights;
    }
    cuda::matmul_bf16(x, w, m, n, k, y, s);
    if (b) gpu::add_bias(y, b, m, n, s);
  }
};

const FormatInfo* kv_format(KvDType d) {
  switch (d) {
    case KvDType::bf16: return nullptr;
    case KvDType::fp8_e4m3: return &find_format("fp8_e4m3fn");
    case KvDType::fp8_e5m2: return &find_format("fp8_e5m2");
    case KvDType::hif8: return &find_format("hif8");
    case KvDType::f32: break;
  }
  throw Error("the GPU KV cache is bf16, fp8_e4m3, fp8_e5m2 or hif8 (not f32)");
}

}  // namespace

struct GpuModel::Impl {
  struct KvStore {
    DeviceBuffer data, scales, static_scale;
    gpu::KvPlane plane() const { return {data.data(), scales.as<float>(), static_scale.as<float>()}; }
  };
  struct Layer {
    DeviceBuffer input_norm, post_norm, q_norm, k_norm;
    GpuLinear qkv, o, gate_up, down;
    GpuLinear router;                                // MoE: router, and each expert's gate/up and down
    std::vector<GpuLinear> expert_gate_up, expert_down;
    KvStore k_cache, v_cache;
  };

  ModelConfig config;
  GpuOptions options;
  gpu::KvLayout kv{};
  std::vector<Layer> layers;
  DeviceBuffer embed, final_norm, inv_freq;
  kernel::DType embed_dtype = kernel::DType::bf16;
  GpuLinear lm_head;
  std::vector<int64_t> lengths;
  cudaStream_t stream = nullptr;

  int rows_capacity = 0;
  DeviceBuffer h, normed, qkv, q, ctx, delta, gate_up, act, logits, weight_scratch;
  DeviceBuffer act_codes, act_scales, act_bf16, out_bf16;  // quantized inputs (act_quant other than none)
  DeviceBuffer q_heads, scores, probs, attn_out;  // prefill attention through GEMMs
  DeviceBuffer kv_bf16;                            // an 8-bit cache's keys and values decoded for them
  // MoE: router logits, the chosen experts and weights per row, and the rows regrouped by expert.
  DeviceBuffer router_logits, topk_ids, topk_weights, expert_source, expert_entry, x_by_expert, gu_by_expert,
      act_by_expert, y_by_expert;
  size_t scores_capacity = 0;                      // elements
  DeviceBuffer tokens_dev, slots_dev, pos_dev, sampled_dev, targets_dev, scores_dev, sample_params_dev;
  DeviceBuffer split_o, split_ml;  // decoding attention's per-split outputs (gpu::AttentionSplitScratch)
  DeviceBuffer reference_dev;  // reference logits of a scoring pass (allocated on first use)
  std::map<int, int> decode_runs;                  // batch size -> eager steps run so far
  std::map<int, cudaGraphExec_t> decode_graphs;    // batch size -> captured decode step
  std::unique_ptr<gpu::DeviceStats> stats;         // while collecting activation statistics
  ActivationObserver tracer;                       // while tracing

  bool observed() const { return stats || tracer; }

  Scratch scratch() const {
    return {weight_scratch.as<uint16_t>(), act_codes.as<uint8_t>(), act_scales.as<float>(), act_bf16.as<uint16_t>(),
            out_bf16.as<uint16_t>()};
  }

  // y = x W^T (+ b) for `rows` rows, seen by the statistics and the trace when they are on.
  void linear(const GpuLinear& l, const uint16_t* x, int rows, float* y) {
    if (stats) stats->add(l.names, x, rows, l.k, stream);
    l.forward(x, rows, y, scratch(), options.act_quant, stream);
    if (tracer) gpu::trace_parts(tracer, l.names, l.widths, y, rows, stream);
  }

  ~Impl() {
    for (auto& [b, g] : decode_graphs) cudaGraphExecDestroy(g);
    if (stream) cudaStreamDestroy(stream);
  }

  gpu::RowInfo rows_info() const { return {slots_dev.as<int32_t>(), pos_dev.as<int32_t>()}; }

  // Attention over a prompt chunk of one sequence (positions start .. start + rows - 1): the fused
  // flash kernel where it takes the head size (multiples of 16 up to 128), else two batched GEMMs per
  // layer (S = Q K^T, softmax, O = P V). An 8-bit cache is decoded to bf16 first.
  void prefill_attention(const Layer& L, int slot, int rows, int64_t start) {
    const ModelConfig& c = config;
    const int64_t keys = start + rows, group = c.heads / c.kv_heads, hd = c.head_dim, kv_row = c.kv_heads * hd;
    const bool flash = cuda::flash_attention_supported(hd);
    const size_t needed = size_t(c.heads) * size_t(rows) * size_t(keys);
    if (!flash && needed > scores_capacity) {
      scores = DeviceBuffer(needed * 4);
      probs = DeviceBuffer(needed * 2);
      scores_capacity = needed;
    }
    const uint16_t *k_cache, *v_cache;
    if (kv.format) {
      if (kv_bf16.bytes() < size_t(2 * keys * kv_row) * 2) kv_bf16 = DeviceBuffer(size_t(2 * options.max_positions * kv_row) * 2);
      uint16_t* k_dec = kv_bf16.as<uint16_t>();
      uint16_t* v_dec = k_dec + keys * kv_row;
      gpu::dequantize_kv(kv, L.k_cache.plane(), slot, keys, k_dec, stream);
      gpu::dequantize_kv(kv, L.v_cache.plane(), slot, keys, v_dec, stream);
      k_cache = k_dec, v_cache = v_dec;
    } else {
      k_cache = static_cast<const uint16_t*>(L.k_cache.data.data()) + int64_t{slot} * kv.max_positions * kv_row;
      v_cache = static_cast<const uint16_t*>(L.v_cache.data.data()) + int64_t{slot} * kv.max_positions * kv_row;
    }
    if (flash) {
      cuda::flash_attention({q_heads.as<uint16_t>(), k_cache, v_cache, ctx.as<uint16_t>(), rows, start,
                             c.sliding_window.value_or(0), c.heads, c.kv_heads, hd},
                            stream);
      return;
    }
    const int64_t m = group * rows;  // a KV head's query heads, stacked
    cuda::matmul_bf16_batched({q_heads.as<uint16_t>(), hd, m * hd}, {k_cache, kv_row, hd}, true, m, keys, hd,
                              scores.as<float>(), keys, m * keys, int(c.kv_heads), stream);
    gpu::causal_softmax(scores.as<float>(), probs.as<uint16_t>(), c.heads, rows, keys, start,
                        c.sliding_window.value_or(0), hd, stream);
    cuda::matmul_bf16_batched({probs.as<uint16_t>(), keys, m * keys}, {v_cache, kv_row, hd}, false, m, hd, keys,
                              attn_out.as<float>(), hd, m * hd, int(c.kv_heads), stream);
    gpu::heads_to_rows(attn_out.as<float>(), ctx.as<uint16_t>(), c.heads, rows, hd, stream);
  }

  // The routed experts for `rows` rows of x: route on the device, group the (row, expert) pairs by
  // expert on the host (one small download), gather each expert's rows, run its gate/up and down
  // products over them (W8A16 for up to 16 rows, else a GEMM), and sum each row's k outputs.
  void experts(const Layer& L, const uint16_t* x, int rows, float* out) {
    const ModelConfig& c = config;
    const int E = int(c.experts), K = int(c.experts_per_token);
    const int64_t H = c.hidden, I = c.expert_intermediate;
    L.router.forward(x, rows, router_logits.as<float>(), scratch(), ActQuant::none, stream);
    gpu::route(router_logits.as<float>(), rows, E, K, c.softmax_after_top_k, c.normalize_top_k, topk_ids.as<int32_t>(),
               topk_weights.as<float>(), stream);
    const auto pairs = size_t(rows) * size_t(K);
    std::vector<int32_t> ids(pairs);
    cuda::check(cudaMemcpyAsync(ids.data(), topk_ids.data(), pairs * 4, cudaMemcpyDeviceToHost, stream), "copy routes");
    cuda::check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    // Entries sorted by expert, rows ascending within one (the order the CPU engine sees them in).
    std::vector<int32_t> first(size_t(E) + 1, 0), source(pairs), entry(pairs);
    for (int32_t id : ids) ++first[size_t(id) + 1];
    for (int e = 0; e < E; ++e) first[size_t(e) + 1] += first[size_t(e)];
    std::vector<int32_t> next(first.begin(), first.end() - 1);
    for (size_t i = 0; i < pairs; ++i) {
      const int32_t at = next[size_t(ids[i])]++;
      source[size_t(at)] = int32_t(i / size_t(K)), entry[i] = at;
    }
    cuda::check(cudaMemcpyAsync(expert_source.data(), source.data(), pairs * 4, cudaMemcpyHostToDevice, stream), "copy rows");
    cuda::check(cudaMemcpyAsync(expert_entry.data(), entry.data(), pairs * 4, cudaMemcpyHostToDevice, stream), "copy rows");
    uint16_t* xs = x_by_expert.as<uint16_t>();
    uint16_t* act = act_by_expert.as<uint16_t>();
    float *gu = gu_by_expert.as<float>(), *ys = y_by_expert.as<float>();
    gpu::gather_rows(x, expert_source.as<int32_t>(), int64_t(pairs), H, xs, stream);
    for (int e = 0; e < E; ++e) {
      const int64_t at = first[size_t(e)], count = first[size_t(e) + 1] - at;
      if (count == 0) continue;
      linear(L.expert_gate_up[size_t(e)], xs + at * H, int(count), gu + at * 2 * I);
      gpu::silu_mul(gu + at * 2 * I, int(count), I, act + at * I, stream);
      linear(L.expert_down[size_t(e)], act + at * I, int(count), ys + at * H);
    }
    gpu::combine_experts(ys, expert_entry.as<int32_t>(), topk_weights.as<float>(), rows, K, H, out, stream);
  }

  // The keys and values a prompt pass wrote to the (bf16) cache: what calibration sees of them.
  void observe_kv(size_t li, int slot, int rows, int64_t start) {
    const int64_t kv_row = config.kv_heads * config.head_dim, first = (int64_t{slot} * kv.max_positions + start) * kv_row;
    const std::string p = "model.layers." + std::to_string(li) + ".self_attn.";
    stats->add({p + "k_cache"}, static_cast<const uint16_t*>(layers[li].k_cache.data.data()) + first, rows, kv_row, stream);
    stats->add({p + "v_cache"}, static_cast<const uint16_t*>(layers[li].v_cache.data.data()) + first, rows, kv_row, stream);
  }

  // The layers for `rows` rows whose token, slot and position are in the device arrays; logits of
  // rows [logit_first, rows) land in `logits`. The residual stream h is float32; each norm's bf16
  // output feeds the next product, and each residual add is fused into the norm that follows it.
  // A prompt chunk (prefill_slot >= 0: every row of that slot, from position prefill_start) takes
  // attention through GEMMs; decode rows the per-row attention kernel.
  void forward_rows(int rows, int logit_first, int prefill_slot = -1, int64_t prefill_start = 0) {
    const bool gemm_attention = prefill_slot >= 0 && rows > 16;
    const ModelConfig& c = config;
    const int64_t H = c.hidden;
    uint16_t* x = normed.as<uint16_t>();
    gpu::embed(tokens_dev.as<int32_t>(), rows, embed.data(), embed_dtype, H, h.as<float>(), stream);
    gpu::residual_rms_norm(h.as<float>(), nullptr, layers.front().input_norm.as<float>(), rows, H, c.rms_eps, x, stream);
    for (size_t li = 0; li < layers.size(); ++li) {
      Layer& L = layers[li];
      linear(L.qkv, x, rows, qkv.as<float>());
      const gpu::RopeArgs rope{qkv.as<float>(), L.qkv.n, q.as<float>(), gemm_attention ? q_heads.as<uint16_t>() : nullptr,
                               rows, c.heads, c.kv_heads, c.head_dim, inv_freq.as<float>(), L.q_norm.as<float>(),
                               L.k_norm.as<float>(), c.rms_eps};
      gpu::rope_and_store(rope, rows_info(), kv, L.k_cache.plane(), L.v_cache.plane(), stream);
      if (stats && prefill_slot >= 0 && !kv.format) observe_kv(li, prefill_slot, rows, prefill_start);
      if (gemm_attention)
        prefill_attention(L, prefill_slot, rows, prefill_start);
      else
        gpu::attention({q.as<float>(), ctx.as<uint16_t>(), rows, c.heads, c.sliding_window.value_or(0),
                        {split_o.as<float>(), split_ml.as<float2>(), options.max_batch}},
                       rows_info(), kv, L.k_cache.plane(), L.v_cache.plane(), stream);
      linear(L.o, ctx.as<uint16_t>(), rows, delta.as<float>());
      gpu::residual_rms_norm(h.as<float>(), delta.as<float>(), L.post_norm.as<float>(), rows, H, c.rms_eps, x, stream);
      if (c.experts) {
        experts(L, x, rows, delta.as<float>());
      } else {
        linear(L.gate_up, x, rows, gate_up.as<float>());
        gpu::silu_mul(gate_up.as<float>(), rows, c.intermediate, act.as<uint16_t>(), stream);
        linear(L.down, act.as<uint16_t>(), rows, delta.as<float>());
      }
      const float* next_norm = li + 1 < layers.size() ? layers[li + 1].input_norm.as<float>() : final_norm.as<float>();
      gpu::residual_rms_norm(h.as<float>(), delta.as<float>(), next_norm, rows, H, c.rms_eps, x, stream);
      if (tracer) gpu::trace_parts(tracer, {"model.layers." + std::to_string(li)}, {H}, h.as<float>(), rows, stream);
    }
    if (logit_first < rows)
      linear(lm_head, x + int64_t{logit_first} * H, rows - logit_first, logits.as<float>());
  }

  // One pass: rows [begin, begin + rows) of `tokens` for `slot` at its length, with the logits of those
  // from index logits_from of `tokens` on. Returns the index in `tokens` of the first logit row.
  size_t pass(int slot, std::span<const int32_t> tokens, size_t begin, int rows, size_t logits_from) {
    std::vector<int32_t> tok(tokens.begin() + long(begin), tokens.begin() + long(begin) + rows);
    std::vector<int32_t> slots(static_cast<size_t>(rows), slot), pos(static_cast<size_t>(rows));
    const int64_t start = lengths[size_t(slot)];
    for (int i = 0; i < rows; ++i) pos[size_t(i)] = int32_t(start + i);
    set_rows(tok, slots, pos);
    const int logit_first = int(std::clamp<int64_t>(int64_t(logits_from) - int64_t(begin), 0, rows));
    forward_rows(rows, logit_first, slot, start);
    lengths[size_t(slot)] += rows;
    return begin + size_t(logit_first);
  }

  void check_prompt(int slot, std::span<const int32_t> tokens) const {
    if (tokens.empty()) throw Error("prefill: no tokens");
    check_slot(slot, int64_t(tokens.size()));
    check_tokens(tokens);
  }

  // Runs `tokens` for `slot` from its length in passes of up to rows_capacity rows. Each pass computes
  // the logits of its rows from index logits_from of `tokens` on, then calls
  // consume(index of the pass's first logit row, logit rows).
  template <class Consume>
  void prefill_passes(int slot, std::span<const int32_t> tokens, size_t logits_from, Consume consume) {
    check_prompt(slot, tokens);
    for (size_t begin = 0; begin < tokens.size(); begin += size_t(rows_capacity)) {
      const int rows = int(std::min(tokens.size() - begin, size_t(rows_capacity)));
      const size_t from = pass(slot, tokens, begin, rows, logits_from);
      if (from < begin + size_t(rows)) consume(from, int(begin + size_t(rows) - from));
    }
  }

  // Targets of logit rows [from, from + rows): tokens[from + i + 1], -1 past the end; uploaded.
  std::vector<int32_t> upload_targets(std::span<const int32_t> tokens, size_t from, int rows) {
    std::vector<int32_t> targets(static_cast<size_t>(rows), -1);
    for (int i = 0; i < rows; ++i)
      if (from + size_t(i) + 1 < tokens.size()) targets[size_t(i)] = tokens[from + size_t(i) + 1];
    cuda::check(cudaMemcpyAsync(targets_dev.data(), targets.data(), size_t(rows) * 4, cudaMemcpyHostToDevice, stream),
                "copy targets");
    return targets;
  }

  // The score kernel over `rows` logit rows (reference logits on the device, or null), appended to out.
  void score_rows(const std::vector<int32_t>& targets, int rows, const float* reference, std::vector<TokenScore>& out) {
    gpu::score(logits.as<float>(), rows, config.vocab, targets_dev.as<int32_t>(), reference, scores_dev.as<gpu::RowScore>(),
               stream);
    std::vector<gpu::RowScore> part(static_cast<size_t>(rows));
    cuda::check(cudaMemcpyAsync(part.data(), scores_dev.data(), size_t(rows) * sizeof(gpu::RowScore), cudaMemcpyDeviceToHost,
                                stream),
                "copy scores");
    cuda::check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    for (int i = 0; i < rows; ++i)
      if (targets[size_t(i)] >= 0) out.push_back({double(part[size_t(i)].logprob), part[size_t(i)].argmax, double(part[size_t(i)].kl)});
  }

  void set_rows(const std::vector<int32_t>& tokens, const std::vector<int32_t>& slots, const std::vector<int32_t>& pos) {
    const size_t bytes = tokens.size() * sizeof(int32_t);
    cuda::check(cudaMemcpyAsync(tokens_dev.data(), tokens.data(), bytes, cudaMemcpyHostToDevice, stream), "copy tokens");
    cuda::check(cudaMemcpyAsync(slots_dev.data(), slots.data(), bytes, cudaMemcpyHostToDevice, stream), "copy slots");
    cuda::check(cudaMemcpyAsync(pos_dev.data(), pos.data(), bytes, cudaMemcpyHostToDevice, stream), "copy positions");
  }

  std::vector<float> download_logits(int rows) {
    const int64_t count = int64_t{rows} * config.vocab;
    std::vector<float> out(static_cast<size_t>(count));
    cuda::check(cudaMemcpyAsync(out.data(), logits.data(), size_t(count) * 4, cudaMemcpyDeviceToHost, stream),
                "copy logits");
    cuda::check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    return out;
  }

  void check_slot(int slot, int64_t extra) const {
    if (slot < 0 || slot >= options.max_batch)
      throw Error("sequence slot " + std::to_string(slot) + " is outside 0.." + std::to_string(options.max_batch - 1));
    if (lengths[size_t(slot)] + extra > options.max_positions)
      throw Error("context of " + std::to_string(lengths[size_t(slot)] + extra) + " tokens exceeds the GPU KV cache's " +
                  std::to_string(options.max_positions));
  }

  void check_tokens(std::span<const int32_t> tokens) const {
    for (int32_t t : tokens)
      if (t < 0 || t >= config.vocab)
        throw Error("token id " + std::to_string(t) + " is outside the vocabulary (0.." + std::to_string(config.vocab - 1) + ")");
  }

  // One decode step's layers for `b` rows already described on the device: eager the first time a
  // batch size is seen, then captured once as a graph and replayed.
  void run_decode(int b) {
    auto graph = decode_graphs.find(b);
    // A graph cannot hold the host's part of expert routing: MoE steps run eagerly.
    if (observed() || config.experts || (graph == decode_graphs.end() && decode_runs[b]++ == 0)) {
      forward_rows(b, 0);
      return;
    }
    if (graph == decode_graphs.end()) {
      cudaGraph_t g = nullptr;
      cuda::check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
      forward_rows(b, 0);
      cuda::check(cudaStreamEndCapture(stream, &g), "cudaStreamEndCapture");
      cudaGraphExec_t exec = nullptr;
      cuda::check(cudaGraphInstantiate(&exec, g, 0), "cudaGraphInstantiate");
      cudaGraphDestroy(g);
      graph = decode_graphs.emplace(b, exec).first;
    }
    cuda::check(cudaGraphLaunch(graph->second, stream), "cudaGraphLaunch");
  }

  void decode_rows(std::span<const int> slots, std::span<const int32_t> tokens) {
    if (slots.size() != tokens.size() || slots.empty() || int(slots.size()) > options.max_batch)
      throw Error("decode: need 1.." + std::to_string(options.max_batch) + " slots, one token each");
    check_tokens(tokens);
    std::vector<int32_t> tok(tokens.begin(), tokens.end()), sl(slots.begin(), slots.end()), pos;
    for (size_t i = 0; i < slots.size(); ++i) {
      check_slot(slots[i], 1);
      for (size_t j = 0; j < i; ++j)
        if (slots[j] == slots[i]) throw Error("decode: slot " + std::to_string(slots[i]) + " appears twice");
      pos.push_back(int32_t(lengths[size_t(slots[i])]));
    }
    set_rows(tok, sl, pos);
    run_decode(int(slots.size()));
    for (int s : slots) ++lengths[size_t(s)];
  }
};

GpuModel::GpuModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GpuModel::GpuModel(GpuModel&&) noexcept = default;
GpuModel& GpuModel::operator=(GpuModel&&) noexcept = default;
GpuModel::~GpuModel() = default;

GpuModel GpuModel::load(const Model& model, const GpuOptions& options) {
  if (!cuda::available()) throw Error("--device cuda: " + cuda::describe_device());
  if (options.max_batch < 1 || options.max_positions < 1) throw Error("GPU engine: max_batch and max_positions must be >= 1");
  if (options.act_quant == ActQuant::static_) throw Error("GPU engine: activations are quantized dynamically (not static)");
  auto m = std::make_unique<Impl>();
  const ModelConfig& c = m->config = model.config();
  m->options = options;
  // The GPU layers implement the Llama block (plain RMSNorm, SiLU MLP or routed SiLU experts, one RoPE
  // table, no caps or sinks).
  if (c.gemma_norms || c.fused_projections || c.attention_sinks || c.swiglu_limit > 0 || c.local_rope ||
      c.rope.attention_factor ||
      c.rope.type == RopeConfig::Type::yarn || c.rope.type == RopeConfig::Type::longrope ||
      std::count(c.sliding_layers.begin(), c.sliding_layers.end(), false) > 0)
    throw Error(c.architecture + " runs on the CPU engine only (the GPU engine runs the Llama, Mistral and Qwen blocks)");
  if (c.head_dim % 2 != 0 || c.head_dim > 1024) throw Error("GPU engine: head_dim " + std::to_string(c.head_dim) + " is not supported");
  m->kv = {kv_format(options.kv), options.max_positions, c.kv_heads, c.head_dim};
  cuda::check(cudaStreamCreateWithFlags(&m->stream, cudaStreamNonBlocking), "cudaStreamCreate");

  const size_t kv_entries = size_t(options.max_batch) * size_t(options.max_positions) * size_t(c.kv_heads);
  const size_t kv_bytes = kv_entries * size_t(c.head_dim) * (m->kv.format ? 1 : 2);
  size_t scratch = 0;
  int64_t widest_input = 0, widest_output = 0;  // over the 8-bit linears: k_padded and n
  const auto note_input = [&](const GpuLinear& l) {
    if (!l.format) return;
    widest_input = std::max(widest_input, cuda::w8_layout(l.n, l.k).k_padded);
    widest_output = std::max(widest_output, l.n);
  };
  for (size_t li = 0; li < model.layers().size(); ++li) {
    const Model::Layer& src = model.layers()[li];
    Impl::Layer L;
    L.input_norm = upload(src.input_norm);
    L.post_norm = upload(src.post_attention_norm);
    L.q_norm = upload(src.q_norm);
    L.k_norm = upload(src.k_norm);
    L.qkv = GpuLinear::upload_from({&src.q, &src.k, &src.v});
    L.o = GpuLinear::upload_from({&src.o});
    if (src.experts.empty()) {
      L.gate_up = GpuLinear::upload_from({&src.gate, &src.up});
      L.down = GpuLinear::upload_from({&src.down});
    } else {
      L.router = GpuLinear::upload_from({&src.router});
      for (const Model::Expert& ex : src.experts) {
        L.expert_gate_up.push_back(GpuLinear::upload_from({&ex.gate, &ex.up}));
        L.expert_down.push_back(GpuLinear::upload_from({&ex.down}));
        for (const GpuLinear* l : {&L.expert_gate_up.back(), &L.expert_down.back()})
          scratch = std::max(scratch, l->scratch_bytes()), note_input(*l);
      }
    }
    for (const GpuLinear* l : {&L.qkv, &L.o, &L.gate_up, &L.down, &L.router})
      scratch = std::max(scratch, l->scratch_bytes()), note_input(*l);
    const KvLayerScales& ks = model.kv_scales()[li];
    for (auto [store, fixed] : {std::pair{&L.k_cache, ks.k}, std::pair{&L.v_cache, ks.v}}) {
      store->data = DeviceBuffer(kv_bytes);
      if (m->kv.format) {
        store->scales = DeviceBuffer(kv_entries * sizeof(float));
        if (fixed) store->static_scale = upload(std::vector<float>{*fixed});
      }
    }
    m->layers.push_back(std::move(L));
  }
  const size_t embed_bytes = size_t(c.vocab * c.hidden) * kernel::dtype_size(model.embedding_dtype());
  m->embed = DeviceBuffer(embed_bytes);
  m->embed.upload(model.embedding_bytes(), embed_bytes);
  m->embed_dtype = model.embedding_dtype();
  m->final_norm = upload(model.final_norm());
  m->inv_freq = upload(model.rope_frequencies());
  m->lm_head = GpuLinear::upload_from({&model.lm_head()});
  scratch = std::max(scratch, m->lm_head.scratch_bytes());
  note_input(m->lm_head);
  m->lengths.assign(size_t(options.max_batch), 0);

  const int R = m->rows_capacity = int(std::max<int64_t>(options.max_batch, std::min<int64_t>(kPrefillChunk, options.max_positions)));
  const auto rows_of = [&](int64_t cols, size_t bytes) { return DeviceBuffer(size_t(R) * size_t(cols) * bytes); };
  const int64_t q_dim = c.heads * c.head_dim;
  m->h = rows_of(c.hidden, 4);
  m->normed = rows_of(c.hidden, 2);
  m->qkv = rows_of(q_dim + 2 * c.kv_heads * c.head_dim, 4);
  m->q = rows_of(q_dim, 4);
  m->q_heads = rows_of(q_dim, 2);
  m->attn_out = rows_of(q_dim, 4);
  m->ctx = rows_of(q_dim, 2);
  m->delta = rows_of(c.hidden, 4);
  const int64_t dense = c.experts ? 0 : c.intermediate;  // an MoE layer's dense MLP buffers go unused
  m->gate_up = rows_of(2 * dense, 4);
  m->act = rows_of(dense, 2);
  m->logits = rows_of(c.vocab, 4);
  m->weight_scratch = DeviceBuffer(scratch);
  if (options.act_quant != ActQuant::none && widest_input > 0) {
    const auto rows = size_t(R) * size_t(std::max<int64_t>(1, c.experts_per_token));  // experts see R * k rows
    m->act_codes = DeviceBuffer(rows * size_t(widest_input));
    m->act_scales = DeviceBuffer(rows * 4);
    m->act_bf16 = DeviceBuffer(rows * size_t(widest_input) * 2);
    m->out_bf16 = DeviceBuffer(rows * size_t(widest_output) * 2);
  }
  if (c.experts) {
    const int64_t pairs = int64_t{R} * c.experts_per_token, I = c.expert_intermediate;
    m->router_logits = rows_of(c.experts, 4);
    for (DeviceBuffer* b : {&m->topk_ids, &m->topk_weights, &m->expert_source, &m->expert_entry})
      *b = DeviceBuffer(size_t(pairs) * 4);
    m->x_by_expert = DeviceBuffer(size_t(pairs * c.hidden) * 2);
    m->gu_by_expert = DeviceBuffer(size_t(pairs * 2 * I) * 4);
    m->act_by_expert = DeviceBuffer(size_t(pairs * I) * 2);
    m->y_by_expert = DeviceBuffer(size_t(pairs * c.hidden) * 4);
  }
  for (DeviceBuffer* b : {&m->tokens_dev, &m->slots_dev, &m->pos_dev, &m->sampled_dev, &m->targets_dev})
    *b = DeviceBuffer(size_t(R) * 4);
  m->scores_dev = DeviceBuffer(size_t(R) * sizeof(gpu::RowScore));
  m->sample_params_dev = DeviceBuffer(size_t(R) * sizeof(gpu::SampleParams));
  const size_t split_rows = size_t(options.max_batch) * size_t(c.heads) * size_t(gpu::kMaxSplits);
  m->split_o = DeviceBuffer(split_rows * size_t(c.head_dim) * sizeof(float));
  m->split_ml = DeviceBuffer(split_rows * sizeof(float2));
  cuda::check(cudaStreamSynchronize(m->stream), "cudaStreamSynchronize");
  return GpuModel(std::move(m));
}

const ModelConfig& GpuModel::config() const { return impl_->config; }
int GpuModel::max_batch() const { return impl_->options.max_batch; }

int64_t GpuModel::length(int slot) const {
  impl_->check_slot(slot, 0);
  return impl_->lengths[size_t(slot)];
}

void GpuModel::reset(int slot) {
  impl_->check_slot(slot, 0);
  impl_->lengths[size_t(slot)] = 0;
}

std::vector<float> GpuModel::prefill(int slot, std::span<const int32_t> tokens, bool all_positions) {
  std::vector<float> out;
  Impl& m = *impl_;
  m.prefill_passes(slot, tokens, all_positions ? 0 : tokens.size() - 1, [&](size_t, int rows) {
    const size_t at = out.size(), count = size_t(rows) * size_t(m.config.vocab);
    out.resize(at + count);
    cuda::check(cudaMemcpyAsync(out.data() + at, m.logits.data(), count * 4, cudaMemcpyDeviceToHost, m.stream), "copy logits");
    cuda::check(cudaStreamSynchronize(m.stream), "cudaStreamSynchronize");
  });
  return out;
}

std::vector<TokenScore> GpuModel::score(int slot, std::span<const int32_t> tokens, size_t first,
                                        std::span<const float> reference) {
  Impl& m = *impl_;
  check_score_arguments(tokens.size(), first, reference.size(), m.config.vocab);
  const auto V = size_t(m.config.vocab);
  if (!reference.empty() && m.reference_dev.bytes() < size_t(m.rows_capacity) * V * 4)
    m.reference_dev = DeviceBuffer(size_t(m.rows_capacity) * V * 4);
  std::vector<TokenScore> out;
  m.prefill_passes(slot, tokens, first - 1, [&](size_t from, int rows) {
    const std::vector<int32_t> targets = m.upload_targets(tokens, from, rows);
    if (!reference.empty()) {  // reference row j belongs to logit row first - 1 + j
      const size_t ref_rows = std::min(size_t(rows), tokens.size() - 1 - from);
      cuda::check(cudaMemcpyAsync(m.reference_dev.data(), reference.data() + (from - (first - 1)) * V, ref_rows * V * 4,
                                  cudaMemcpyHostToDevice, m.stream),
                  "copy reference logits");
    }
    m.score_rows(targets, rows, reference.empty() ? nullptr : m.reference_dev.as<float>(), out);
  });
  return out;
}

std::pair<std::vector<TokenScore>, std::vector<TokenScore>> GpuModel::score_against(GpuModel& reference, int slot,
                                                                                    int reference_slot,
                                                                                    std::span<const int32_t> tokens,
                                                                                    size_t first) {
  Impl &m = *impl_, &r = *reference.impl_;
  check_score_arguments(tokens.size(), first, 0, m.config.vocab);
  if (r.config.vocab != m.config.vocab) throw Error("score: the reference's vocabulary differs");
  m.check_prompt(slot, tokens);
  r.check_prompt(reference_slot, tokens);
  std::pair<std::vector<TokenScore>, std::vector<TokenScore>> out;
  const size_t step = size_t(std::min(m.rows_capacity, r.rows_capacity));
  for (size_t begin = 0; begin < tokens.size(); begin += step) {
    const int rows = int(std::min(tokens.size() - begin, step));
    const size_t from = r.pass(reference_slot, tokens, begin, rows, first - 1);
    m.pass(slot, tokens, begin, rows, first - 1);
    const int logit_rows = int(begin + size_t(rows) - from);
    if (logit_rows <= 0) continue;
    const std::vector<int32_t> targets = r.upload_targets(tokens, from, logit_rows);
    m.upload_targets(tokens, from, logit_rows);
    cuda::check(cudaStreamSynchronize(r.stream), "cudaStreamSynchronize");  // the reference's logits are ready
    m.score_rows(targets, logit_rows, r.logits.as<float>(), out.first);
    r.score_rows(targets, logit_rows, nullptr, out.second);
  }
  return out;
}

void GpuModel::collect(StatsCollector* into) {
  Impl& m = *impl_;
  if (m.stats) m.stats->flush(m.stream);
  m.stats = into ? std::make_unique<gpu::DeviceStats>(into) : nullptr;
}

void GpuModel::trace(ActivationObserver trace) { impl_->tracer = std::move(trace); }

std::vector<float> GpuModel::decode(std::span<const int> slots, std::span<const int32_t> tokens) {
  impl_->decode_rows(slots, tokens);
  return impl_->download_logits(int(slots.size()));
}

std::vector<int32_t> GpuModel::decode_sample(std::span<const int> slots, std::span<const int32_t> tokens,
                                             std::span<const SamplingOptions> sampling) {
  Impl& m = *impl_;
  check_sample_arguments(slots.size(), sampling.size());
  std::vector<gpu::SampleParams> params;
  for (const SamplingOptions& o : sampling) params.push_back({o.temperature, o.top_p, o.top_k, o.seed});
  m.decode_rows(slots, tokens);
  const int b = int(slots.size());
  cuda::check(cudaMemcpyAsync(m.sample_params_dev.data(), params.data(), params.size() * sizeof(gpu::SampleParams),
                              cudaMemcpyHostToDevice, m.stream), "copy sampling parameters");
  gpu::sample(m.logits.as<float>(), b, m.config.vocab, m.sample_params_dev.as<gpu::SampleParams>(),
              m.sampled_dev.as<int32_t>(), m.stream);
  std::vector<int32_t> out(static_cast<size_t>(b));
  cuda::check(cudaMemcpyAsync(out.data(), m.sampled_dev.data(), size_t(b) * 4, cudaMemcpyDeviceToHost, m.stream),
              "copy sampled tokens");
  cuda::check(cudaStreamSynchronize(m.stream), "cudaStreamSynchronize");
  if (std::find(out.begin(), out.end(), -1) != out.end()) throw_nan_logits();
  return out;
}

}  // namespace hifp8::model
