#include "hifp8/model/activation_stats.h"

#include <algorithm>
#include <cmath>

#include "hifp8/error.h"

namespace hifp8::model {

size_t AbsHistogram::bin(float a) {
  if (!(a > 0)) return 0;
  const double pos = (std::log2(double(a)) - kMinExp) * kPerOctave;
  return size_t(std::clamp(pos, 0.0, double(kBins - 1)));
}

double AbsHistogram::lower_edge(size_t bin) { return std::exp2(kMinExp + double(bin) / kPerOctave); }

float ActivationStats::amax() const {
  return channel_amax.empty() ? 0.0f : *std::max_element(channel_amax.begin(), channel_amax.end());
}

size_t reservoir_slot(uint64_t seen, size_t capacity) {
  if (seen < capacity) return size_t(seen);
  uint64_t z = seen * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;  // splitmix64 of the row's index
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  const uint64_t j = z % (seen + 1);
  return j < capacity ? size_t(j) : capacity;
}

void StatsCollector::add(const std::string& name, const float* x, size_t rows, size_t n) {
  ActivationStats& s = stats_[name];
  if (s.channel_amax.empty()) s.channel_amax.assign(n, 0.0f);
  if (s.channel_amax.size() != n) throw Error("activation statistics: " + name + " changed width");
  if (options_.histogram && s.histogram.empty()) s.histogram.assign(AbsHistogram::kBins, 0);
  const size_t keep = rows_to_keep(name);
  for (size_t r = 0; r < rows; ++r, ++s.rows) {
    const float* row = x + r * n;
    for (size_t i = 0; i < n; ++i) {
      const float a = std::fabs(row[i]);
      if (std::isfinite(a)) s.channel_amax[i] = std::max(s.channel_amax[i], a);
      if (options_.histogram) ++s.histogram[AbsHistogram::bin(a)];
    }
    const size_t slot = reservoir_slot(s.rows, keep);
    if (slot >= keep) continue;
    if (slot * n == s.samples.size()) s.samples.insert(s.samples.end(), row, row + n);
    else std::copy(row, row + n, s.samples.begin() + long(slot * n));
  }
}

void StatsCollector::merge(const std::string& name, ActivationStats in) {
  auto [it, fresh] = stats_.try_emplace(name, std::move(in));
  if (fresh) return;
  ActivationStats& s = it->second;
  if (s.channel_amax.size() != in.channel_amax.size()) throw Error("activation statistics: " + name + " changed width");
  for (size_t i = 0; i < in.channel_amax.size(); ++i) s.channel_amax[i] = std::max(s.channel_amax[i], in.channel_amax[i]);
  if (s.histogram.empty()) s.histogram.assign(in.histogram.size(), 0);
  for (size_t i = 0; i < in.histogram.size(); ++i) s.histogram[i] += in.histogram[i];
  if (s.samples.empty()) s.samples = std::move(in.samples);
  s.rows += in.rows;
}

}  // namespace hifp8::model
