#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <ctime>

#include "hifp8/pipeline/quantize_checkpoint.h"
#include "hifp8/quant/scheme.h"

#include <map>

namespace hifp8::pipeline {

using namespace io;  // the checkpoint reading and writing this job drives
namespace {

// JSON has no Infinity: an exact (error-free) tensor's SQNR is written as null.
nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

std::string number(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "x" : "") + std::to_string(shape[i]);
  return s;
}

std::string target_text(const std::optional<float>& target) {
  return target ? "target " + number("%g", *target) : "each format's default target";
}

// "DATA: 8 of 128 sequences asked, 1024 tokens, observer max, SmoothQuant alpha 0.5; 35 static input
// scales, 10 KV-cache scales": the summary's and the model card's calibration row.
std::string calibration_line(const CalibrationSummary& c) {
  return c.data + ": " + std::to_string(c.sequences) + " of " + std::to_string(c.sequences_asked) + " sequences asked, " +
         std::to_string(c.tokens) + " tokens, observer " + c.observer +
         (c.smooth_alpha ? ", SmoothQuant alpha " + number("%g", *c.smooth_alpha) : std::string()) + "; " +
         std::to_string(c.input_scales) + " static input scales, " + std::to_string(c.kv_scales) + " KV-cache scales";
}

// Mean and worst SQNR (dB) over the quantized tensors with a finite one (NaN when there are none).
std::pair<double, double> sqnr_totals(const std::vector<TensorReport>& tensors) {
  double sum = 0, worst = INFINITY;
  size_t n = 0;
  for (const TensorReport& t : tensors)
    if (t.quantized && std::isfinite(t.sqnr_db)) sum += t.sqnr_db, worst = std::min(worst, double(t.sqnr_db)), ++n;
  if (n == 0) return {NAN, NAN};
  return {sum / double(n), worst};
}

}  // namespace

nlohmann::json QuantizeReport::to_json() const {
  nlohmann::json tensors_json = nlohmann::json::array();
  size_t quantized = 0;
  for (const TensorReport& t : tensors) {
    nlohmann::json j = {{"name", t.name},         {"shape", t.shape},         {"dtype_in", t.dtype_in},
                        {"dtype_out", t.dtype_out}, {"quantized", t.quantized}, {"bytes_in", t.bytes_in},
                        {"bytes_out", t.bytes_out}, {"seconds", t.seconds}};
    if (t.quantized) {
      ++quantized;
      j["sqnr_db"] = finite_or_null(t.sqnr_db);
      j["relative_frobenius_error"] = t.relative_frobenius;
      j["max_abs_error"] = t.max_abs_error;
      j["saturated_pct"] = t.saturated_pct;
      j["flushed_to_zero_pct"] = t.flushed_to_zero_pct;
    }
    if (!t.chosen_format.empty()) {
      j["chosen_format"] = t.chosen_format;
      j["output_errors"] = nlohmann::json::object();
      for (const auto& [f, e] : t.output_errors) j["output_errors"][f] = e;
    }
    tensors_json.push_back(j);
  }
  const auto [mean_sqnr, worst_sqnr] = sqnr_totals(tensors);
  nlohmann::json out = {{"scheme", scheme},
                        {"format", format},
                        {"granularity", granularity},
                        {"target", target ? nlohmann::json(*target) : nlohmann::json(nullptr)},
                        {"input", input},
                        {"output", output},
                        {"totals",
                         {{"tensors", tensors.size()},
                          {"quantized_tensors", quantized},
                          {"bytes_in", bytes_in},
                          {"bytes_out", bytes_out},
                          {"compression_ratio", bytes_out ? double(bytes_in) / double(bytes_out) : 0.0},
                          {"mean_sqnr_db", finite_or_null(mean_sqnr)},
                          {"worst_sqnr_db", finite_or_null(worst_sqnr)},
                          {"seconds", seconds},
                          {"peak_rss_bytes", peak_rss_bytes},
                          {"input_gb_per_s", seconds > 0 ? double(bytes_in) / seconds / 1e9 : 0.0}}},
                        {"warnings", warnings},
                        {"tensors", tensors_json}};
  if (calibration) {
    const CalibrationSummary& c = *calibration;
    out["calibration"] = {{"data", c.data},           {"observer", c.observer},      {"sequences_asked", c.sequences_asked},
                          {"sequences", c.sequences}, {"tokens", c.tokens},          {"input_scales", c.input_scales},
                          {"kv_scales", c.kv_scales}, {"smooth_alpha", c.smooth_alpha ? nlohmann::json(*c.smooth_alpha) : nlohmann::json(nullptr)}};
  }
  return out;
}

std::string QuantizeReport::to_markdown() const {
  std::vector<const TensorReport*> q;
  for (const TensorReport& t : tensors)
    if (t.quantized) q.push_back(&t);
  std::sort(q.begin(), q.end(), [](const TensorReport* a, const TensorReport* b) { return a->sqnr_db < b->sqnr_db; });
  double sqnr_sum = 0;
  size_t finite = 0;
  for (const TensorReport* t : q)
    if (std::isfinite(t->sqnr_db)) sqnr_sum += t->sqnr_db, ++finite;
  std::string md = "## hifp8 quantize: " + scheme + " (" + format + ", " + granularity + ", " + target_text(target) + ")\n\n";
  md += "| | |\n|---|---|\n";
  md += "| input | " + input + " |\n| output | " + output + " |\n";
  md += "| tensors | " + std::to_string(tensors.size()) + " (" + std::to_string(q.size()) + " quantized) |\n";
  md += "| size | " + number("%.1f", double(bytes_in) / 1e6) + " MB -> " + number("%.1f", double(bytes_out) / 1e6) +
        " MB (" + number("%.2f", bytes_out ? double(bytes_in) / double(bytes_out) : 0.0) + "x) |\n";
  md += "| time | " + number("%.2f", seconds) + " s (" + number("%.2f", seconds > 0 ? double(bytes_in) / seconds / 1e9 : 0.0) +
        " GB/s of input), peak RSS " + number("%.0f", double(peak_rss_bytes) / 1e6) + " MB |\n";
  std::map<std::string, int> chosen;
  for (const TensorReport& t : tensors)
    if (!t.chosen_format.empty()) ++chosen[t.chosen_format];
  if (!chosen.empty()) {
    md += "| formats chosen |";
    for (const auto& [f, count] : chosen) md += " " + f + " x" + std::to_string(count);
    md += " |\n";
  }
  if (calibration) md += "| calibration | " + calibration_line(*calibration) + " |\n";
  if (!q.empty()) {
    md += "| SQNR | mean " + number("%.2f", finite ? sqnr_sum / double(finite) : 0.0) + " dB, worst " +
          number("%.2f", q.front()->sqnr_db) + " dB (" + q.front()->name + ") |\n";
    md += "\nWorst tensors by SQNR:\n\n| tensor | shape | SQNR dB | rel. error | max abs error | saturated % | flushed % |\n"
          "|---|---|---:|---:|---:|---:|---:|\n";
    for (size_t i = 0; i < std::min<size_t>(10, q.size()); ++i) {
      const TensorReport& t = *q[i];
      md += "| " + t.name + " | " + shape_text(t.shape) + " | " + number("%.2f", t.sqnr_db) + " | " +
            number("%.4f", t.relative_frobenius) + " | " + number("%.3g", t.max_abs_error) + " | " +
            number("%.4f", t.saturated_pct) + " | " + number("%.4f", t.flushed_to_zero_pct) + " |\n";
    }
  }
  for (const std::string& w : warnings) md += "\n**warning:** " + w + "\n";
  return md;
}

std::string QuantizeReport::model_card(const std::string& original_card) const {
  const std::time_t now = std::time(nullptr);
  char date[16];
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
  size_t quantized = 0;
  for (const TensorReport& t : tensors) quantized += t.quantized;
  const auto [mean_sqnr, worst_sqnr] = sqnr_totals(tensors);
  const Scheme& s = find_scheme(scheme);
  std::string card = "# " + std::filesystem::path(input).filename().string() + " — " + scheme + " (hifp8)\n\n";
  card += "Quantized with hifp8 " HIFP8_VERSION " on " + std::string(date) + " from `" + input + "`.\n\n";
  card += "| | |\n|---|---|\n";
  card += "| scheme | `" + scheme + "`: " + std::string(s.summary) + " |\n";
  card += "| weights | " + format + ", " + granularity + " scales, " + target_text(target) + "; " +
          std::to_string(quantized) + " of " + std::to_string(tensors.size()) + " tensors quantized |\n";
  if (calibration) card += "| calibration | " + calibration_line(*calibration) + " |\n";
  if (std::isfinite(mean_sqnr))
    card += "| weight SQNR | mean " + number("%.2f", mean_sqnr) + " dB, worst " + number("%.2f", worst_sqnr) + " dB |\n";
  card += "| loads in | " + std::string(loaded_by(s.export_kind)) + " |\n";
  if (!original_card.empty()) card += "\n## The original model card\n\n" + original_card;
  return card;
}

}  // namespace hifp8::pipeline
