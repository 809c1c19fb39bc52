#include "hifp8/calib/calibration.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <vector>

#include "hifp8/error.h"
#include "hifp8/io/token_file.h"
#include "hifp8/model/engine.h"
#include "hifp8/model/model.h"
#include "hifp8/model/tokenizer.h"
#include "hifp8/quant/quantized_tensor.h"

namespace hifp8::calib {
namespace {

using model::AbsHistogram;

// The clipping value c in [amax / 8, amax] whose fake-quantization (scale c / target, saturating) has
// the least squared error over the |x| histogram (each bin taken at its centre): 200 candidates.
float mse_clip(const std::vector<uint64_t>& bins, float amax, const FormatInfo& f, float target) {
  double best_error = INFINITY;
  float best = amax;
  for (int k = 0; k < 200; ++k) {
    const float c = amax * float(std::exp2(-3.0 * k / 199.0));
    const float scale = c / target;
    double error = 0;
    for (size_t i = 1; i < bins.size(); ++i) {
      if (!bins[i]) continue;
      const auto v = float(AbsHistogram::lower_edge(i) * std::exp2(0.5 / AbsHistogram::kPerOctave));
      const float q = f.decode(f.encode(v / scale, Overflow::saturate)) * scale;
      error += double(bins[i]) * double(v - q) * double(v - q);
    }
    if (error < best_error) best_error = error, best = c;
  }
  return best;
}

// The upper edge of the bin holding the p-th percentile of the histogram.
float percentile(const std::vector<uint64_t>& bins, double p) {
  uint64_t total = 0;
  for (uint64_t b : bins) total += b;
  const double want = p / 100.0 * double(total);
  uint64_t seen = 0;
  for (size_t i = 0; i < bins.size(); ++i) {
    seen += bins[i];
    if (double(seen) >= want) return float(AbsHistogram::lower_edge(i + 1));
  }
  return float(AbsHistogram::lower_edge(bins.size()));
}

std::vector<io::Document> calibration_sequences(const std::filesystem::path& model_dir, const CalibrationOptions& o) {
  std::vector<io::Document> docs;
  if (o.data.extension() == ".tokens") {
    docs = io::read_token_file(o.data);
  } else {
    std::ifstream in(o.data, std::ios::binary);
    if (!in) throw Error("cannot read calibration data " + o.data.string());
    std::stringstream ss;
    ss << in.rdbuf();
    docs.push_back(model::Tokenizer::load(model_dir)->encode(ss.str()));
  }
  std::vector<io::Document> out;
  for (const io::Document& d : docs)
    for (size_t at = 0; at < d.size() && out.size() < o.samples; at += size_t(o.seq_len))
      out.emplace_back(d.begin() + long(at), d.begin() + long(std::min(d.size(), at + size_t(o.seq_len))));
  if (out.empty()) throw Error("calibration data " + o.data.string() + " has no tokens");
  return out;
}

}  // namespace

CalibrationResult calibrate(const std::filesystem::path& model_dir, const CalibrationOptions& o) {
  double percentile_p = 100;
  if (o.observer.rfind("percentile:", 0) == 0) {
    try {
      percentile_p = std::stod(o.observer.substr(11));
    } catch (const std::exception&) {
      percentile_p = -1;
    }
    if (!(percentile_p > 0 && percentile_p <= 100)) throw Error("observer '" + o.observer + "': the percentile must be in (0, 100]");
  } else if (o.observer == "mse") {
    if (!o.format) throw Error("observer 'mse' needs the format being calibrated for");
  } else if (o.observer != "max") {
    throw Error("unknown observer '" + o.observer + "' (max, percentile:P, mse)");
  }
  const bool histogram = percentile_p < 100 || o.observer == "mse";
  if (o.samples == 0 || o.seq_len < 1) throw Error("--calib-samples and --seq-len must be positive");
  const std::vector<io::Document> seqs = calibration_sequences(model_dir, o);
  size_t longest = 0;
  for (const io::Document& seq : seqs) longest = std::max(longest, seq.size());
  model::ModelOptions mo;
  mo.threads = o.engine.threads;
  const model::Model m = model::Model::load(model_dir, mo);
  model::EngineOptions eo = o.engine;
  eo.slots = 1, eo.max_context = int64_t(longest), eo.kv_cache_dtype.clear(), eo.act_quant = model::ActQuant::none;
  const auto engine = model::open_engine(m, eo);
  model::StatsCollector collector({histogram, o.sample_rows});
  engine->collect(&collector);
  CalibrationResult r;
  if (o.progress) o.progress(0, seqs.size(), 0);  // the model is loaded: the passes start
  for (const io::Document& seq : seqs) {
    engine->prefill(0, seq);
    ++r.sequences, r.tokens += seq.size();
    if (o.progress) o.progress(r.sequences, seqs.size(), r.tokens);
  }
  engine->collect(nullptr);
  for (const auto& [name, s] : collector.stats()) {
    float& amax = r.amax[name] = s.amax();
    if (o.observer == "mse") amax = mse_clip(s.histogram, amax, *o.format, default_target(*o.format));
    else if (histogram) amax = std::min(amax, percentile(s.histogram, percentile_p));
    if (name.ends_with("_cache")) continue;
    r.channel_amax[name] = s.channel_amax;
    if (!s.samples.empty()) r.samples[name] = s.samples;
  }
  return r;
}

}  // namespace hifp8::calib
