#include "hifp8/calib/calibration.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <vector>

#include "hifp8/error.h"
#include "hifp8/io/token_file.h"
#include "hifp8/model/model.h"
#include "hifp8/model/tokenizer.h"
#include "hifp8/quant/quantized_tensor.h"

namespace hifp8::calib {
namespace {

// |x| histogram: bin i covers [2^(kMinExp + i/kPerOctave), 2^(kMinExp + (i+1)/kPerOctave)); zeros and
// values below the range count in bin 0, values above in the last bin.
class Histogram {
 public:
  static constexpr int kPerOctave = 64, kMinExp = -40, kOctaves = 80;
  Histogram() : bins_(size_t(kPerOctave * kOctaves), 0) {}
  void add(float a) {
    if (!(a > 0)) {
      ++bins_[0];
      return;
    }
    const double pos = (std::log2(double(a)) - kMinExp) * kPerOctave;
    ++bins_[size_t(std::clamp(pos, 0.0, double(bins_.size() - 1)))];
  }
  // The clipping value c in [amax / 8, amax] whose fake-quantization (scale c / target, saturating)
  // has the least squared error over the histogram (each bin taken at its centre): 200 candidates.
  float mse_clip(float amax, const FormatInfo& f, float target) const {
    double best_error = INFINITY;
    float best = amax;
    for (int k = 0; k < 200; ++k) {
      const float c = amax * float(std::exp2(-3.0 * k / 199.0));
      const float scale = c / target;
      double error = 0;
      for (size_t i = 1; i < bins_.size(); ++i) {
        if (!bins_[i]) continue;
        const float v = float(std::exp2(kMinExp + (double(i) + 0.5) / kPerOctave));
        const float q = f.decode(f.encode(v / scale, Overflow::saturate)) * scale;
        error += double(bins_[i]) * double(v - q) * double(v - q);
      }
      if (error < best_error) best_error = error, best = c;
    }
    return best;
  }

  float percentile(double p) const {
    uint64_t total = 0;
    for (uint64_t b : bins_) total += b;
    const double want = p / 100.0 * double(total);
    uint64_t seen = 0;
    for (size_t i = 0; i < bins_.size(); ++i) {
      seen += bins_[i];
      if (double(seen) >= want) return float(std::exp2(kMinExp + double(i + 1) / kPerOctave));  // bin's upper edge
    }
    return float(std::exp2(kMinExp + kOctaves));
  }

 private:
  std::vector<uint64_t> bins_;
};

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
  double percentile = 100;
  if (o.observer.rfind("percentile:", 0) == 0) {
    try {
      percentile = std::stod(o.observer.substr(11));
    } catch (const std::exception&) {
      percentile = -1;
    }
    if (!(percentile > 0 && percentile <= 100)) throw Error("observer '" + o.observer + "': the percentile must be in (0, 100]");
  } else if (o.observer == "mse") {
    if (!o.format) throw Error("observer 'mse' needs the format being calibrated for");
  } else if (o.observer != "max") {
    throw Error("unknown observer '" + o.observer + "' (max, percentile:P, mse)");
  }
  const bool histogram = percentile < 100 || o.observer == "mse";
  if (o.samples == 0 || o.seq_len < 1) throw Error("--calib-samples and --seq-len must be positive");
  CalibrationResult r;
  std::map<std::string, Histogram> histograms;
  std::map<std::string, uint64_t> rows_seen;
  std::mt19937_64 rng(1);
  std::mutex lock;
  model::ModelOptions mo;
  mo.threads = o.threads;
  mo.observer = [&](const std::string& name, const float* x, size_t rows, size_t n) {
    const std::lock_guard<std::mutex> guard(lock);
    float& amax = r.amax[name];
    Histogram* h = histogram ? &histograms[name] : nullptr;
    std::vector<float>* channels = name.ends_with("_cache") ? nullptr : &r.channel_amax[name];
    if (channels) channels->resize(n, 0.0f);
    if (channels && o.sample_rows) {
      // Every row until full, then a deterministic reservoir (each row seen kept with equal chance).
      std::vector<float>& kept = r.samples[name];
      uint64_t& seen = rows_seen[name];
      for (size_t row = 0; row < rows; ++row, ++seen) {
        const size_t slot = kept.size() / n < o.sample_rows ? kept.size() / n : size_t(rng() % (seen + 1));
        if (slot >= o.sample_rows) continue;
        if (slot * n == kept.size()) kept.insert(kept.end(), x + row * n, x + (row + 1) * n);
        else std::copy(x + row * n, x + (row + 1) * n, kept.begin() + long(slot * n));
      }
    }
    for (size_t i = 0; i < rows * n; ++i) {
      const float a = std::fabs(x[i]);
      if (std::isfinite(a)) {
        amax = std::max(amax, a);
        if (channels) (*channels)[i % n] = std::max((*channels)[i % n], a);
      }
      if (h) h->add(a);
    }
  };
  const model::Model m = model::Model::load(model_dir, mo);
  const std::vector<io::Document> seqs = calibration_sequences(model_dir, o);
  for (const io::Document& seq : seqs) {
    model::KvCache cache = m.new_cache(model::KvDType::f32, int64_t(seq.size()));
    m.forward(seq, cache);
    ++r.sequences, r.tokens += seq.size();
    if (o.progress) o.progress(r.sequences, seqs.size());
  }
  for (auto& [name, h] : histograms)
    r.amax[name] = o.observer == "mse" ? h.mse_clip(r.amax[name], *o.format, default_target(*o.format))
                                       : std::min(r.amax[name], h.percentile(percentile));
  return r;
}

}  // namespace hifp8::calib
