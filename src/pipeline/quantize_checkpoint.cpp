#include "hifp8/pipeline/quantize_checkpoint.h"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <future>
#include <mutex>

#include "hifp8/io/file_bytes.h"
#include "hifp8/calib/format_choice.h"
#include "hifp8/calib/smoothing.h"
#include "hifp8/error.h"
#include "hifp8/format/format.h"
#include "hifp8/io/checkpoint.h"
#include "hifp8/io/export/export_writer.h"
#include "hifp8/io/output_dir.h"
#include "hifp8/io/sharded_writer.h"
#include "hifp8/kernel/array_ops.h"
#include "hifp8/kernel/parallel.h"
#include "hifp8/quant/quantized_tensor.h"
#include "hifp8/quant/scheme.h"

namespace hifp8::pipeline {

using namespace io;  // the checkpoint reading and writing this job drives
namespace fs = std::filesystem;
namespace {

// A tensor is processed in row chunks of about kChunkElements (one write() each), each split into
// tiles of about kTileElements rows that one thread carries through every step (widen, quantize,
// dequantize, measure) while they sit in its L2 cache.
constexpr size_t kChunkElements = size_t{16} << 20;
constexpr size_t kTileElements = size_t{32} << 10;
constexpr size_t kCopyChunkBytes = size_t{64} << 20;

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

using SmoothingPlan = std::map<std::string, calib::TensorScaling>;

// Static scales from calibration statistics: activation scale = amax / target of the weight format;
// KV-cache scales = amax / 448 (E4M3, as vLLM reads k_scale / v_scale). A linear the calibration data
// never reached (an MoE expert no token was routed to) takes the largest amax of the modules with the
// same last name component (up_proj, w2, ...), which see the same kind of input.
struct StaticScales {
  // With smoothing, a smoothed linear's input is x / s: its statistic is max_j amax_j / s_j.
  StaticScales(const calib::CalibrationResult& r, float activation_target, const SmoothingPlan& smoothing)
      : target(activation_target) {
    for (const auto& [name, amax] : r.amax) {
      const std::string leaf = name.substr(name.rfind('.') + 1);
      if (leaf == "k_cache" || leaf == "v_cache") {
        kv[name.substr(0, name.size() - leaf.size()) + leaf[0] + "_scale"] = amax > 0 ? amax / 448.0f : 1.0f;
        continue;
      }
      float a = amax;
      const auto smoothed = smoothing.find(name + ".weight");
      const auto channels = r.channel_amax.find(name);
      if (smoothed != smoothing.end() && !smoothed->second.columns.empty() && channels != r.channel_amax.end()) {
        a = 0;
        for (size_t j = 0; j < channels->second.size(); ++j) a = std::max(a, channels->second[j] / smoothed->second.columns[j]);
      }
      inputs[name] = a;
      by_leaf[leaf] = std::max(by_leaf[leaf], a);
    }
  }
  float input_scale(const std::string& module) const {
    auto it = inputs.find(module);
    float amax = it != inputs.end() ? it->second : 0.0f;
    if (it == inputs.end()) {
      const auto leaf = by_leaf.find(module.substr(module.rfind('.') + 1));
      if (leaf == by_leaf.end()) throw Error("calibration never reached '" + module + "' nor any module like it");
      amax = leaf->second;
    }
    return amax > 0 ? amax / target : 1.0f;
  }
  float target;
  std::map<std::string, float> inputs, by_leaf, kv;  // kv: tensor name -> scale
};

// Runs write jobs one at a time, in submission order, on a second thread: the page-cache copy of one
// chunk (a large share of the run on small machines) overlaps the quantization of the next.
class WriteBehind {
 public:
  WriteBehind() = default;
  WriteBehind(const WriteBehind&) = delete;
  WriteBehind& operator=(const WriteBehind&) = delete;
  ~WriteBehind() {
    if (pending_.valid()) pending_.wait();
  }

  template <class Job>
  void submit(Job job) {
    wait();
    pending_ = std::async(std::launch::async, std::move(job));
  }
  // Rethrows what the last job threw.
  void wait() {
    if (pending_.valid()) pending_.get();
  }

 private:
  std::future<void> pending_;
};

class Pipeline {
 public:
  Pipeline(const Checkpoint& ckpt, const QuantizeCheckpointOptions& opt, const Scheme& scheme, const Granularity& g,
           float target, const ExportWriter& writer, const StaticScales* static_scales, const SmoothingPlan& smoothing,
           const std::map<std::string, const FormatInfo*>& formats)
      : ckpt_(ckpt), opt_(opt), format_(format_info(scheme.format)), g_(g), target_(target), writer_(writer),
        static_scales_(static_scales), smoothing_(smoothing), formats_(formats) {
    progress_.tensors_total = ckpt.tensors().size();
    progress_.bytes_total = ckpt.total_bytes();
  }

  void copy(const Checkpoint::Entry& e, ShardedWriter& out, TensorReport& r) {
    if (const calib::TensorScaling* s = scaling_of(e.info->name)) return copy_scaled(e, *s, out, r);
    const std::span<const uint8_t> bytes = ckpt_.bytes(e);
    writes_.submit([&out, &ckpt = ckpt_, &e, bytes] {
      out.begin_tensor(e.info->name);
      for (size_t i = 0; i < bytes.size(); i += kCopyChunkBytes)
        out.write(bytes.subspan(i, std::min(kCopyChunkBytes, bytes.size() - i)));
      ckpt.release(e);
    });
    advance(bytes.size(), e.info->name);
    r.bytes_out = bytes.size();
  }

  // An unquantized tensor that smoothing changes (an RMSNorm weight, an ignored linear): widened,
  // scaled and written back in its dtype.
  void copy_scaled(const Checkpoint::Entry& e, const calib::TensorScaling& s, ShardedWriter& out, TensorReport& r) {
    const TensorInfo& info = *e.info;
    const kernel::DType d = kernel_dtype(info.dtype);
    const size_t n = info.numel(), cols = info.shape.empty() ? 1 : static_cast<size_t>(info.shape.back());
    std::vector<float> x(n);
    kernel::widen(ckpt_.bytes(e).data(), d, x.data(), n, opt_.threads);
    calib::apply_scaling(s, x.data(), cols ? n / cols : 0, cols);
    auto bytes = std::make_shared<std::vector<uint8_t>>(n * kernel::dtype_size(d));
    kernel::narrow(x.data(), bytes->data(), d, n, opt_.threads);
    writes_.submit([&out, name = info.name, bytes] {
      out.begin_tensor(name);
      out.write(*bytes);
    });
    advance(bytes->size(), info.name);
    r.bytes_out = bytes->size();
  }

  const calib::TensorScaling* scaling_of(const std::string& name) const {
    const auto it = smoothing_.find(name);
    return it == smoothing_.end() ? nullptr : &it->second;
  }

  // A one-value float32 tensor (input_scale, k_scale, v_scale), written in order after what came before.
  void write_scalar(ShardedWriter& out, const std::string& name, float value) {
    writes_.submit([&out, name, value] {
      out.begin_tensor(name);
      out.write({reinterpret_cast<const uint8_t*>(&value), sizeof value});
    });
  }

  // Waits for the last write; call before finishing the shards.
  void flush() { writes_.wait(); }

  void quantize(const Checkpoint::Entry& e, ShardedWriter& out, TensorReport& r) {
    const TensorInfo& info = *e.info;
    const size_t cols = static_cast<size_t>(info.shape.back());
    const size_t rows = cols ? info.numel() / cols : 0;
    const size_t out_size = writer_.writes_codes() ? 1 : kernel::dtype_size(kernel_dtype(info.dtype));
    // Tiles never split a scale group: block granularity tiles are whole block rows.
    const size_t tile_rows = g_.kind == GranularityKind::block ? static_cast<size_t>(g_.block_rows)
                                                               : std::max<size_t>(1, kTileElements / std::max<size_t>(1, cols));
    const size_t chunk_rows = std::max<size_t>(1, kChunkElements / std::max<size_t>(1, cols * tile_rows)) * tile_rows;
    const std::vector<int64_t> tile_shape = {int64_t(tile_rows), int64_t(cols)};
    const size_t scales_per_tile = g_.kind == GranularityKind::tensor ? 0 : numel(g_.scale_shape(tile_shape));
    // 1.0 as for an all-zero group: what an empty tensor's per-tensor scale keeps.
    std::vector<float> scales(g_.kind == GranularityKind::tensor ? 1 : numel(g_.scale_shape(info.shape)), 1.0f);
    const auto chosen = formats_.find(module_name(info.name));
    const FormatInfo& format = chosen == formats_.end() ? format_ : *chosen->second;
    const float target = chosen == formats_.end() ? target_ : default_target(format);
    TileJob job{info, format, target, ckpt_.bytes(e).data(), cols, tile_rows, scales_per_tile, scales, std::nullopt,
                scaling_of(info.name), {}, {}};
    if (g_.kind == GranularityKind::tensor) job.tensor_amax = tensor_wide_amax(e, cols);

    writes_.submit([&out, &info] { out.begin_tensor(info.name); });
    for (size_t r0 = 0; r0 < rows; r0 += chunk_rows) {
      const size_t nr = std::min(chunk_rows, rows - r0);
      const size_t tiles = (nr + tile_rows - 1) / tile_rows;
      // The write in flight (if any) reads the other buffer, so this one is free.
      std::vector<uint8_t>& chunk = buffers_[next_buffer_];
      next_buffer_ ^= 1;
      chunk.resize(nr * cols * out_size);
      kernel::parallel_for(tiles, opt_.threads, [&](size_t t0, size_t t1) {
        run_tiles(job, r0 + t0 * tile_rows, std::min(r0 + nr, r0 + t1 * tile_rows), chunk.data() + t0 * tile_rows * cols * out_size);
      }, 1);
      writes_.submit([&out, &chunk] { out.write(chunk); });
      advance(nr * cols * kernel::dtype_size(kernel_dtype(info.dtype)), info.name);
    }
    if (writer_.writes_codes())
      writes_.submit([&out, name = module_name(info.name) + "." + writer_.scale_suffix(), scales] {
        out.begin_tensor(name);
        out.write({reinterpret_cast<const uint8_t*>(scales.data()), scales.size() * sizeof(float)});
      });
    if (static_scales_) write_scalar(out, module_name(info.name) + ".input_scale", static_scales_->input_scale(module_name(info.name)));
    ckpt_.release(e);
    const kernel::ErrorSums& st = job.stats;
    r.quantized = true;
    r.bytes_out = info.numel() * dtype_size(writer_.weight_dtype(info.dtype)) +
                  (writer_.writes_codes() ? scales.size() * sizeof(float) : 0);
    r.sqnr_db = st.sum_e2 == 0 ? INFINITY : 10.0 * std::log10(st.sum_x2 / st.sum_e2);
    r.relative_frobenius = st.sum_x2 == 0 ? 0.0 : std::sqrt(st.sum_e2 / st.sum_x2);
    r.max_abs_error = st.max_abs_error;
    r.saturated_pct = st.nonzero ? 100.0 * double(st.saturated) / double(st.nonzero) : 0.0;
    r.flushed_to_zero_pct = st.nonzero ? 100.0 * double(st.flushed) / double(st.nonzero) : 0.0;
  }

  void tensor_done() {
    ++progress_.tensors_done;
    report_progress();
  }

 private:
  // One tensor's shared state while its tiles run on several threads.
  struct TileJob {
    const TensorInfo& info;
    const FormatInfo& format;
    float target;
    const uint8_t* src;  // the tensor's bytes
    size_t cols, tile_rows, scales_per_tile;
    std::vector<float>& scales;
    std::optional<float> tensor_amax;
    const calib::TensorScaling* scaling = nullptr;  // SmoothQuant, applied before quantizing
    std::mutex lock;  // guards stats
    kernel::ErrorSums stats;
  };

  // Rows [row_begin, row_end) of the tensor, whole tiles from a tile boundary; output bytes go to dst.
  void run_tiles(TileJob& job, size_t row_begin, size_t row_end, uint8_t* dst) {
    const TensorInfo& info = job.info;
    const size_t cols = job.cols;
    const kernel::DType src_dtype = kernel_dtype(info.dtype);
    const size_t src_size = kernel::dtype_size(src_dtype);
    const uint8_t* src = job.src;
    const QuantOptions qopt{job.target, opt_.allow_nonfinite ? NonFinitePolicy::clamp : NonFinitePolicy::error, 1,
                            job.tensor_amax};
    std::vector<float> x(job.tile_rows * cols), deq(x.size());
    kernel::ErrorSums local;
    for (size_t row = row_begin; row < row_end; row += job.tile_rows) {
      const size_t nr = std::min(job.tile_rows, row_end - row), n = nr * cols;
      kernel::widen(src + row * cols * src_size, src_dtype, x.data(), n, 1);
      if (job.scaling) calib::apply_scaling(*job.scaling, x.data(), nr, cols, row);
      if (!opt_.allow_nonfinite) check_finite(info, x.data(), n, row * cols);
      const QuantizedTensor q = hifp8::quantize({x.data(), n}, std::vector<int64_t>{int64_t(nr), int64_t(cols)}, job.format, g_, qopt);
      dequantize(q, {deq.data(), n}, 1);
      if (writer_.writes_codes()) {
        std::copy(q.codes.begin(), q.codes.end(), dst);
        dst += n;
        const size_t offset = g_.kind == GranularityKind::tensor ? 0 : row / job.tile_rows * job.scales_per_tile;
        std::copy(q.scales.begin(), q.scales.end(), job.scales.begin() + offset);
      } else {
        // Fake-quant is written in the original dtype: measure what is written, rounding included.
        kernel::narrow(deq.data(), dst, src_dtype, n, 1);
        kernel::widen(dst, src_dtype, deq.data(), n, 1);
        dst += n * src_size;
      }
      local.add(kernel::error_sums(job.format, x.data(), deq.data(), q.codes.data(), n, 1));
    }
    const std::lock_guard<std::mutex> guard(job.lock);
    job.stats.add(local);
  }

  // Tensor granularity needs the whole tensor's amax before the first chunk is quantized.
  float tensor_wide_amax(const Checkpoint::Entry& e, size_t cols) {
    const kernel::DType d = kernel_dtype(e.info->dtype);
    const size_t n_total = e.info->numel(), chunk = std::max<size_t>(1, kChunkElements / std::max<size_t>(1, cols)) * std::max<size_t>(1, cols);
    std::vector<float> buffer(std::min(n_total, chunk));
    float amax = 0;
    for (size_t i = 0; i < n_total; i += chunk) {
      const size_t n = std::min(chunk, n_total - i);
      kernel::widen(ckpt_.bytes(e).data() + i * kernel::dtype_size(d), d, buffer.data(), n, opt_.threads);
      if (const calib::TensorScaling* s = scaling_of(e.info->name)) calib::apply_scaling(*s, buffer.data(), n / cols, cols, i / cols);
      if (!opt_.allow_nonfinite) check_finite(*e.info, buffer.data(), n, i);
      amax = std::max(amax, kernel::amax(buffer.data(), n, opt_.threads).amax);
    }
    return amax;
  }

  void check_finite(const TensorInfo& info, const float* x, size_t n, size_t offset) const {
    const kernel::AmaxResult a = kernel::amax(x, n, opt_.threads);
    if (a.first_nonfinite == kernel::AmaxResult::npos) return;
    const size_t flat = offset + a.first_nonfinite, cols = static_cast<size_t>(info.shape.back());
    throw Error("tensor '" + info.name + "' has a non-finite value (" + std::to_string(x[a.first_nonfinite]) +
                ") at row " + std::to_string(flat / cols) + ", column " + std::to_string(flat % cols) +
                " (use --allow-nonfinite to clamp NaN to 0 and Inf to the largest finite value)");
  }

  void advance(uint64_t bytes, const std::string& name) {
    progress_.bytes_done += bytes;
    progress_.current = name;
    report_progress();
  }

  void report_progress() {
    progress_.seconds = since(start_);
    if (opt_.progress) opt_.progress(progress_);
  }

  const Checkpoint& ckpt_;
  const QuantizeCheckpointOptions& opt_;
  const FormatInfo& format_;
  Granularity g_;
  float target_;
  const ExportWriter& writer_;
  const StaticScales* static_scales_;
  const SmoothingPlan& smoothing_;
  const std::map<std::string, const FormatInfo*>& formats_;  // scheme mixed: the format of each module
  QuantizeProgress progress_;
  Clock::time_point start_ = Clock::now();
  std::array<std::vector<uint8_t>, 2> buffers_;  // output chunks: one being filled, one being written
  size_t next_buffer_ = 0;
  WriteBehind writes_;  // last member: destroyed first, so a write in flight finishes before the buffers go
};

void write_json(const fs::path& path, const nlohmann::json& j) {
  write_file(path, j.dump(2) + "\n");
}

// Scheme mixed: the candidates' output error for every linear the selector would quantize.
std::vector<calib::LayerChoice> choose_module_formats(const Checkpoint& ckpt, const TensorSelector& selector,
                                                      const calib::CalibrationResult& stats,
                                                      const QuantizeCheckpointOptions& opt,
                                                      std::map<std::string, const FormatInfo*>& chosen) {
  std::vector<const FormatInfo*> candidates;
  for (const std::string& f : opt.mixed_formats) candidates.push_back(&find_format(f));
  std::vector<std::string> modules;
  for (const Checkpoint::Entry& e : ckpt.tensors())
    if (selector.classify(e.info->name, e.info->shape.size()) == TensorRole::quantize) modules.push_back(module_name(e.info->name));
  std::vector<calib::LayerChoice> choices = calib::choose_formats(ckpt, modules, stats, candidates, opt.keep_bf16, opt.threads);
  for (const calib::LayerChoice& c : choices)
    if (c.format) chosen[c.module] = c.format;
  return choices;
}

}  // namespace

QuantizeReport quantize_checkpoint(const fs::path& input, const fs::path& output, const QuantizeCheckpointOptions& opt) {
  const auto start = Clock::now();
  std::vector<fs::path> inputs = {input};
  if (opt.calibration) inputs.push_back(opt.calibration->data);
  check_output_apart(output, inputs);  // before any work: --force must never delete what is read
  const Scheme& scheme = find_scheme(opt.scheme);
  const FormatInfo& format = format_info(scheme.format);
  if (opt.granularity && !scheme.granularity_option)
    throw Error("scheme " + std::string(scheme.name) + " has a fixed granularity (" + scheme.default_granularity.to_string() + ")");
  const Granularity g = opt.granularity.value_or(scheme.default_granularity);
  const std::unique_ptr<ExportWriter> writer = make_export_writer(scheme);
  writer->check_granularity(g);
  const float target = opt.target == 0 ? default_target(format) : opt.target;
  if (!(target > 0) || !(target <= format.max_finite))
    throw Error("target " + std::to_string(target) + " is outside (0, " + std::to_string(format.max_finite) + "]");
  const TensorSelector selector(opt.selection);
  const Checkpoint ckpt = Checkpoint::open(input);
  std::optional<StaticScales> static_scales;
  std::optional<CalibrationSummary> calibration_summary;
  SmoothingPlan smoothing;
  if (opt.smooth_alpha && !opt.calibration) throw Error("--smooth-alpha needs calibration data (--calib)");
  const bool mixed = scheme.name == "mixed";
  if (mixed && !opt.calibration) throw Error("scheme mixed chooses formats on calibration data: give --calib");
  if (mixed && opt.target != 0) throw Error("scheme mixed quantizes each layer at its format's default target: drop --target");
  std::vector<calib::LayerChoice> choices;
  std::map<std::string, const FormatInfo*> mixed_formats;  // module -> chosen format (absent: kept in bf16)
  if (opt.calibration) {
    const bool static_layout = writer->input_scale_shape().has_value();
    if (!static_layout && !opt.smooth_alpha && !mixed)
      throw Error("scheme " + std::string(scheme.name) +
                  " has no static-activation layout; calibrate with fp8-dynamic, fp8-tensor, int8-dynamic or hif8");
    calib::CalibrationOptions calibration = *opt.calibration;
    calibration.format = &format;
    if (mixed) calibration.sample_rows = 32;
    const calib::CalibrationResult stats = calib::calibrate(input, calibration);
    if (opt.smooth_alpha) smoothing = calib::plan_smoothing(ckpt, stats, *opt.smooth_alpha, opt.smooth_full);
    if (static_layout) static_scales = StaticScales(stats, default_target(format), smoothing);
    calibration_summary = CalibrationSummary{calibration.data.string(), calibration.observer, calibration.samples,
                                             stats.sequences, stats.tokens, opt.smooth_alpha, 0,
                                             static_scales ? static_scales->kv.size() : 0};
    if (mixed) choices = choose_module_formats(ckpt, selector, stats, opt, mixed_formats);
  }

  // Plan every output tensor first: the shards' headers are written before any data.
  std::vector<TensorSpec> specs;
  std::vector<TensorRole> roles;
  std::vector<std::string> ignore;
  for (const Checkpoint::Entry& e : ckpt.tensors()) {
    const TensorInfo& t = *e.info;
    TensorRole role = selector.classify(t.name, t.shape.size());
    if (mixed && role == TensorRole::quantize && !mixed_formats.count(module_name(t.name))) role = TensorRole::keep_linear;
    roles.push_back(role);
    if (role == TensorRole::keep_linear) ignore.push_back(module_name(t.name));
    if (role != TensorRole::quantize) {
      specs.push_back({t.name, t.dtype, t.shape});
      continue;
    }
    if (!is_float_wide(t.dtype))
      throw Error("tensor '" + t.name + "' is " + std::string(dtype_name(t.dtype)) +
                  ", not F32/F16/BF16: is this checkpoint already quantized?");
    std::vector<int64_t> scale_shape;
    try {
      scale_shape = g.scale_shape(t.shape);
    } catch (const Error& err) {
      throw Error("tensor '" + t.name + "': " + err.what());
    }
    specs.push_back({t.name, writer->weight_dtype(t.dtype), t.shape});
    if (writer->writes_codes())
      specs.push_back({module_name(t.name) + "." + writer->scale_suffix(), TensorDType::F32, writer->scale_shape(scale_shape)});
    if (static_scales) {
      specs.push_back({module_name(t.name) + ".input_scale", TensorDType::F32, *writer->input_scale_shape()});
      ++calibration_summary->input_scales;
    }
  }
  if (static_scales)
    for (const auto& [name, value] : static_scales->kv) specs.push_back({name, TensorDType::F32, {}});
  if (std::find(ignore.begin(), ignore.end(), "lm_head") == ignore.end() && !opt.selection.include_lm_head)
    ignore.insert(ignore.begin(), "lm_head");  // tied embeddings: engines still see an lm_head module

  OutputDir out_dir(output, opt.force, inputs);
  QuantizeReport report;
  report.calibration = calibration_summary;
  if (calibration_summary && calibration_summary->sequences < calibration_summary->sequences_asked)
    report.warnings.push_back("the calibration data gave " + std::to_string(calibration_summary->sequences) + " of the " +
                              std::to_string(calibration_summary->sequences_asked) +
                              " sequences --calib-samples asks for: give more data (or a smaller --seq-len)");
  report.scheme = scheme.name;
  std::string candidates;  // scheme mixed: "mixed of hif8,fp8_e4m3fn,..."
  for (const std::string& name : opt.mixed_formats) candidates += (candidates.empty() ? "" : ",") + std::string(find_format(name).name);
  report.format = mixed ? "mixed of " + candidates : std::string(format.name);
  report.granularity = g.to_string();
  if (!mixed) report.target = target;
  report.input = input.string();
  report.output = output.string();
  {
    ShardedWriter shards(out_dir.path(), specs, opt.max_shard_bytes);
    Pipeline pipeline(ckpt, opt, scheme, g, target, *writer, static_scales ? &*static_scales : nullptr, smoothing, mixed_formats);
    for (size_t i = 0; i < ckpt.tensors().size(); ++i) {
      const Checkpoint::Entry& e = ckpt.tensors()[i];
      const auto t0 = Clock::now();
      TensorReport r;
      r.name = e.info->name;
      r.shape = e.info->shape;
      r.dtype_in = dtype_name(e.info->dtype);
      r.bytes_in = e.info->nbytes();
      if (roles[i] == TensorRole::quantize) {
        r.dtype_out = dtype_name(writer->weight_dtype(e.info->dtype));
        pipeline.quantize(e, shards, r);
      } else {
        r.dtype_out = r.dtype_in;
        pipeline.copy(e, shards, r);
      }
      for (const calib::LayerChoice& c : choices) {
        if (c.module + ".weight" != r.name) continue;
        r.chosen_format = c.format ? std::string(c.format->name) : "bf16";
        for (size_t k = 0; k < c.errors.size(); ++k) r.output_errors.emplace_back(opt.mixed_formats[k], c.errors[k]);
      }
      r.seconds = since(t0);
      report.bytes_in += r.bytes_in;
      report.bytes_out += r.bytes_out;
      report.tensors.push_back(std::move(r));
      pipeline.tensor_done();
    }
    if (static_scales)
      for (const auto& [name, value] : static_scales->kv) pipeline.write_scalar(shards, name, value);
    pipeline.flush();
    shards.finish();
  }
  nlohmann::json config = ckpt.config();
  const nlohmann::json qc = writer->quantization_config(
      {scheme, g, target, ignore, static_scales.has_value(), static_scales && !static_scales->kv.empty(), !smoothing.empty()});
  if (!qc.is_null()) config["quantization_config"] = qc;
  if (mixed) {  // hifp8 metadata (engines ignore it): which format each weight was quantized to
    nlohmann::json m = nlohmann::json::object();
    for (const calib::LayerChoice& c : choices) m[c.module] = c.format ? std::string(c.format->name) : "bf16";
    config["hifp8_mixed_formats"] = m;
  }
  write_json(out_dir.path() / "config.json", config);
  std::string original_card;
  for (const fs::path& f : ckpt.other_files()) {
    if (f.filename() == "README.md") original_card = read_file(f);  // kept below the new card
    else fs::copy_file(f, out_dir.path() / f.filename());
  }
  report.seconds = since(start);
  write_file(out_dir.path() / "README.md", report.model_card(original_card));
  out_dir.commit();
  struct rusage usage {};
  if (::getrusage(RUSAGE_SELF, &usage) == 0) report.peak_rss_bytes = uint64_t(usage.ru_maxrss) * 1024;  // KiB on Linux
  return report;
}

}  // namespace hifp8::pipeline
