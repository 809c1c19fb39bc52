#include "hifp8/eval/compare.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "hifp8/error.h"
#include "hifp8/io/file_bytes.h"
#include "hifp8/io/checkpoint.h"
#include "hifp8/io/checkpoint_inspect.h"
#include "hifp8/quant/error_stats.h"

namespace hifp8::eval {
namespace fs = std::filesystem;
namespace {

// Mean weight SQNR per decoder layer (x: layer index), for the chart.
std::map<int, double> sqnr_by_layer(const std::vector<std::pair<std::string, double>>& weights) {
  const std::regex layer(R"(model\.layers\.(\d+)\.)");
  std::map<int, std::pair<double, int>> sums;
  for (const auto& [name, db] : weights) {
    std::smatch m;
    if (!std::regex_search(name, m, layer) || !std::isfinite(db)) continue;
    auto& s = sums[std::stoi(m[1])];
    s.first += db, ++s.second;
  }
  std::map<int, double> out;
  for (const auto& [l, s] : sums) out[l] = s.first / s.second;
  return out;
}

}  // namespace

std::vector<std::pair<std::string, double>> weight_sqnr(const fs::path& model_dir, const fs::path& baseline_dir) {
  const io::Checkpoint model = io::Checkpoint::open(model_dir), base = io::Checkpoint::open(baseline_dir);
  std::vector<std::pair<std::string, double>> out;
  for (const auto& e : model.tensors()) {
    const std::string& name = e.info->name;
    if (!name.ends_with(".weight")) continue;
    const io::Checkpoint::Entry* b = base.find(name);
    if (!b) continue;
    const std::string module = name.substr(0, name.size() - 7);
    const bool has_scale = model.find(module + ".weight_scale") || model.find(module + ".weight_scale_inv");
    const auto mine = model.bytes(e), theirs = base.bytes(*b);
    if (!has_scale && e.info->dtype == b->info->dtype && std::equal(mine.begin(), mine.end(), theirs.begin(), theirs.end()))
      continue;  // copied unchanged: not quantized
    out.emplace_back(name, error_stats(io::dequantize_tensor(base, name), io::dequantize_tensor(model, name)).sqnr_db);
  }
  return out;
}

void write_comparison(const fs::path& out_dir, const std::string& baseline, const std::vector<ModelComparison>& models) {
  if (models.empty()) throw Error("eval compare: no models");
  fs::create_directories(out_dir);
  nlohmann::json j = {{"baseline", baseline}, {"models", nlohmann::json::array()}};
  std::string md = "| model | ppl | delta ppl | mean KL | top-1 agreement | quantized weights | mean weight SQNR dB |\n"
                   "|---|---:|---:|---:|---:|---:|---:|\n";
  char line[512];
  std::string bars, layers;
  for (size_t i = 0; i < models.size(); ++i) {
    const ModelComparison& m = models[i];
    double sum = 0;
    for (const auto& [name, db] : m.weight_sqnr_db) sum += db;
    const double mean = m.weight_sqnr_db.empty() ? 0.0 : sum / double(m.weight_sqnr_db.size());
    std::snprintf(line, sizeof line, "| %s | %.4f | %+.4f | %.6f | %.2f %% | %zu | %.2f |\n", m.name.c_str(), m.ppl.ppl,
                  m.ppl.ppl - *m.ppl.baseline_ppl, *m.ppl.mean_kl, 100 * *m.ppl.top1_agreement, m.weight_sqnr_db.size(), mean);
    md += line;
    j["models"].push_back({{"name", m.name}, {"ppl", m.ppl.ppl}, {"baseline_ppl", *m.ppl.baseline_ppl},
                           {"mean_kl", *m.ppl.mean_kl}, {"top1_agreement", *m.ppl.top1_agreement},
                           {"weight_sqnr_db", m.weight_sqnr_db}});
    std::snprintf(line, sizeof line, "%zu \"%s\" %.6f %.8f\n", i, m.name.c_str(), m.ppl.ppl - *m.ppl.baseline_ppl, *m.ppl.mean_kl);
    bars += line;
    layers += "# " + m.name + "\n";
    for (const auto& [l, db] : sqnr_by_layer(m.weight_sqnr_db)) layers += std::to_string(l) + " " + std::to_string(db) + "\n";
    layers += "\n\n";  // gnuplot data blocks are separated by two blank lines
  }
  md += "\nbaseline: " + baseline + ", " + std::to_string(models[0].ppl.tokens) + " scored tokens, ppl " +
        std::to_string(*models[0].ppl.baseline_ppl) + "\n\n![delta ppl, KL and per-layer weight SQNR](compare.png)\n";
  io::write_file(out_dir / "compare.md", md);
  io::write_file(out_dir / "compare.json", j.dump(2) + "\n");
  io::write_file(out_dir / "bars.dat", bars);
  io::write_file(out_dir / "layers.dat", layers);
  std::string plot = "set terminal pngcairo size 1400,450 font 'sans,10'\nset output '" + (out_dir / "compare.png").string() +
                     "'\nset multiplot layout 1,3\nset style fill solid 0.8\nset boxwidth 0.6\nset grid ytics\n"
                     "set xtics rotate by -30\nset title 'delta perplexity vs baseline'\nplot '" + (out_dir / "bars.dat").string() +
                     "' using 1:3:xtic(2) with boxes notitle lc rgb '#4477aa'\n"
                     "set title 'mean KL(baseline || model)'\nplot '" + (out_dir / "bars.dat").string() +
                     "' using 1:4:xtic(2) with boxes notitle lc rgb '#cc6677'\n"
                     "set xtics norotate 1\nset title 'weight SQNR per decoder layer (dB)'\nset xlabel 'layer'\nset key center right\nplot ";
  for (size_t i = 0; i < models.size(); ++i)
    plot += (i ? ", '" : "'") + (out_dir / "layers.dat").string() + "' index " + std::to_string(i) +
            " using 1:2 with linespoints title '" + models[i].name + "'";
  plot += "\nunset multiplot\n";
  io::write_file(out_dir / "compare.gnuplot", plot);
  const std::string command = "gnuplot '" + (out_dir / "compare.gnuplot").string() + "' 2>&1";
  if (std::system(command.c_str()) != 0)
    throw Error("gnuplot failed to draw " + (out_dir / "compare.png").string() + " (is gnuplot-nox installed?)");
}

}  // namespace hifp8::eval
