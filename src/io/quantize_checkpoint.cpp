#include "hifp8/io/quantize_checkpoint.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <mutex>

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

namespace hifp8::io {
namespace fs = std::filesystem;
namespace {

// Elements per row chunk: large enough to keep both cores busy, small enough that a chunk's float32
// copies (input, dequantized) stay far below the memory budget whatever the tensor size.
constexpr size_t kChunkElements = size_t{16} << 20;
constexpr size_t kCopyChunkBytes = size_t{64} << 20;

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

kernel::DType wide_dtype(TensorDType d) {
  switch (d) {
    case TensorDType::F32: return kernel::DType::f32;
    case TensorDType::F16: return kernel::DType::f16;
    default: return kernel::DType::bf16;
  }
}

struct ErrorAccumulator {
  double sum_x2 = 0, sum_e2 = 0, max_abs = 0;
  uint64_t saturated = 0, flushed = 0, nonzero = 0, count = 0;

  void add(const ErrorAccumulator& o) {
    sum_x2 += o.sum_x2, sum_e2 += o.sum_e2, max_abs = std::max(max_abs, o.max_abs);
    saturated += o.saturated, flushed += o.flushed, nonzero += o.nonzero, count += o.count;
  }
};

ErrorAccumulator measure_chunk(const float* x, const float* deq, const uint8_t* codes, size_t n,
                               const FormatInfo& f, int threads) {
  ErrorAccumulator total;
  std::mutex lock;
  kernel::parallel_for(n, threads, [&](size_t begin, size_t end) {
    ErrorAccumulator a;
    for (size_t i = begin; i < end; ++i) {
      const double xv = x[i], d = xv - double(deq[i]);
      a.sum_x2 += xv * xv;
      a.sum_e2 += d * d;
      a.max_abs = std::max(a.max_abs, std::fabs(d));
      if (xv == 0) continue;
      ++a.nonzero;
      const float code_value = std::fabs(f.decode(codes[i]));
      if (code_value == 0) ++a.flushed;
      if (code_value == f.max_finite && std::fabs(xv) > std::fabs(double(deq[i]))) ++a.saturated;
    }
    a.count = end - begin;
    const std::lock_guard<std::mutex> guard(lock);
    total.add(a);
  });
  return total;
}

class Pipeline {
 public:
  Pipeline(const Checkpoint& ckpt, const QuantizeCheckpointOptions& opt, const Scheme& scheme, const Granularity& g,
           float target, const ExportWriter& writer)
      : ckpt_(ckpt), opt_(opt), format_(format_info(scheme.format)), g_(g), target_(target), writer_(writer) {
    progress_.tensors_total = ckpt.tensors().size();
    progress_.bytes_total = ckpt.total_bytes();
  }

  void copy(const Checkpoint::Entry& e, ShardedWriter& out, TensorReport& r) {
    out.begin_tensor(e.info->name);
    const std::span<const uint8_t> bytes = ckpt_.bytes(e);
    for (size_t i = 0; i < bytes.size(); i += kCopyChunkBytes) {
      const size_t len = std::min(kCopyChunkBytes, bytes.size() - i);
      out.write(bytes.subspan(i, len));
      advance(len, e.info->name);
    }
    ckpt_.release(e);
    r.bytes_out = bytes.size();
  }

  void quantize(const Checkpoint::Entry& e, ShardedWriter& out, TensorReport& r) {
    const TensorInfo& info = *e.info;
    const size_t cols = static_cast<size_t>(info.shape.back());
    const size_t rows = cols ? info.numel() / cols : 0;
    const kernel::DType src_dtype = wide_dtype(info.dtype);
    const size_t src_size = kernel::dtype_size(src_dtype);
    const uint8_t* src = ckpt_.bytes(e).data();
    size_t chunk_rows = std::max<size_t>(1, kChunkElements / std::max<size_t>(1, cols));
    if (g_.kind == GranularityKind::block) {
      const auto br = static_cast<size_t>(g_.block_rows);
      chunk_rows = std::max<size_t>(1, chunk_rows / br) * br;
    }
    std::vector<float> x(std::min(rows, chunk_rows) * cols), deq(x.size());
    std::vector<uint8_t> narrowed(writer_.writes_codes() ? 0 : x.size() * src_size);
    std::optional<float> tensor_amax;
    if (g_.kind == GranularityKind::tensor) tensor_amax = tensor_wide_amax(e, x, chunk_rows, cols);

    QuantOptions qopt{target_, opt_.allow_nonfinite ? NonFinitePolicy::clamp : NonFinitePolicy::error, opt_.threads, tensor_amax};
    std::vector<float> scales;
    ErrorAccumulator stats;
    out.begin_tensor(info.name);
    for (size_t r0 = 0; r0 < rows; r0 += chunk_rows) {
      const size_t nr = std::min(chunk_rows, rows - r0), n = nr * cols;
      kernel::widen(src + r0 * cols * src_size, src_dtype, x.data(), n, opt_.threads);
      if (!opt_.allow_nonfinite) check_finite(info, x.data(), n, r0 * cols);
      const std::vector<int64_t> chunk_shape = {int64_t(nr), int64_t(cols)};
      const QuantizedTensor q = hifp8::quantize({x.data(), n}, chunk_shape, format_, g_, qopt);
      dequantize(q, {deq.data(), n}, opt_.threads);
      if (!writer_.writes_codes()) {
        // Fake-quant is written in the original dtype: measure what is written, rounding included.
        kernel::narrow(deq.data(), narrowed.data(), src_dtype, n, opt_.threads);
        kernel::widen(narrowed.data(), src_dtype, deq.data(), n, opt_.threads);
      }
      stats.add(measure_chunk(x.data(), deq.data(), q.codes.data(), n, format_, opt_.threads));
      if (writer_.writes_codes()) {
        out.write(q.codes);
        if (g_.kind != GranularityKind::tensor || scales.empty()) scales.insert(scales.end(), q.scales.begin(), q.scales.end());
      } else {
        out.write({narrowed.data(), n * src_size});
      }
      advance(n * src_size, info.name);
    }
    if (writer_.writes_codes()) {
      out.begin_tensor(module_name(info.name) + "." + writer_.scale_suffix());
      out.write({reinterpret_cast<const uint8_t*>(scales.data()), scales.size() * sizeof(float)});
    }
    ckpt_.release(e);
    r.quantized = true;
    r.bytes_out = info.numel() * dtype_size(writer_.weight_dtype(info.dtype)) + scales.size() * sizeof(float);
    r.sqnr_db = stats.sum_e2 == 0 ? INFINITY : 10.0 * std::log10(stats.sum_x2 / stats.sum_e2);
    r.relative_frobenius = stats.sum_x2 == 0 ? 0.0 : std::sqrt(stats.sum_e2 / stats.sum_x2);
    r.max_abs_error = stats.max_abs;
    r.saturated_pct = stats.nonzero ? 100.0 * double(stats.saturated) / double(stats.nonzero) : 0.0;
    r.flushed_to_zero_pct = stats.nonzero ? 100.0 * double(stats.flushed) / double(stats.nonzero) : 0.0;
  }

  void tensor_done() {
    ++progress_.tensors_done;
    report_progress();
  }

 private:
  float tensor_wide_amax(const Checkpoint::Entry& e, std::vector<float>& buffer, size_t chunk_rows, size_t cols) {
    const kernel::DType d = wide_dtype(e.info->dtype);
    const size_t rows = cols ? e.info->numel() / cols : 0;
    float amax = 0;
    for (size_t r0 = 0; r0 < rows; r0 += chunk_rows) {
      const size_t n = std::min(chunk_rows, rows - r0) * cols;
      kernel::widen(ckpt_.bytes(e).data() + r0 * cols * kernel::dtype_size(d), d, buffer.data(), n, opt_.threads);
      if (!opt_.allow_nonfinite) check_finite(*e.info, buffer.data(), n, r0 * cols);
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
  QuantizeProgress progress_;
  Clock::time_point start_ = Clock::now();
};

void write_json(const fs::path& path, const nlohmann::json& j) {
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  if (!out) throw Error("cannot write " + path.string());
}

}  // namespace

QuantizeReport quantize_checkpoint(const fs::path& input, const fs::path& output, const QuantizeCheckpointOptions& opt) {
  const auto start = Clock::now();
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

  // Plan every output tensor first: the shards' headers are written before any data.
  std::vector<TensorSpec> specs;
  std::vector<TensorRole> roles;
  std::vector<std::string> ignore;
  for (const Checkpoint::Entry& e : ckpt.tensors()) {
    const TensorInfo& t = *e.info;
    const TensorRole role = selector.classify(t.name, t.shape.size());
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
  }
  if (std::find(ignore.begin(), ignore.end(), "lm_head") == ignore.end() && !opt.selection.include_lm_head)
    ignore.insert(ignore.begin(), "lm_head");  // tied embeddings: engines still see an lm_head module

  OutputDir out_dir(output, opt.force);
  QuantizeReport report;
  report.scheme = scheme.name;
  report.format = format.name;
  report.granularity = g.to_string();
  report.target = target;
  report.input = input.string();
  report.output = output.string();
  {
    ShardedWriter shards(out_dir.path(), specs, opt.max_shard_bytes);
    Pipeline pipeline(ckpt, opt, scheme, g, target, *writer);
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
      r.seconds = since(t0);
      report.bytes_in += r.bytes_in;
      report.bytes_out += r.bytes_out;
      report.tensors.push_back(std::move(r));
      pipeline.tensor_done();
    }
    shards.finish();
  }
  nlohmann::json config = ckpt.config();
  const nlohmann::json qc = writer->quantization_config({scheme, g, target, ignore});
  if (!qc.is_null()) config["quantization_config"] = qc;
  write_json(out_dir.path() / "config.json", config);
  for (const fs::path& f : ckpt.other_files()) fs::copy_file(f, out_dir.path() / f.filename());
  out_dir.commit();
  report.seconds = since(start);
  struct rusage usage {};
  if (::getrusage(RUSAGE_SELF, &usage) == 0) report.peak_rss_bytes = uint64_t(usage.ru_maxrss) * 1024;  // KiB on Linux
  return report;
}

}  // namespace hifp8::io
