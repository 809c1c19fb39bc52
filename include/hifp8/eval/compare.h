#pragma once
// `hifp8 eval compare`: several quantized versions of one model measured against it on the same
// data — perplexity / KL / top-1 (perplexity.h) and the SQNR of every quantized weight against the
// baseline's — written as markdown, JSON and a PNG chart drawn by gnuplot.
#include <filesystem>
#include <string>
#include <vector>

#include "hifp8/eval/perplexity.h"

namespace hifp8::eval {

struct ModelComparison {
  std::string name;  // the model directory's file name
  PerplexityResult ppl;
  std::vector<std::pair<std::string, double>> weight_sqnr_db;  // quantized weight -> SQNR vs the baseline
};

// Weights stored quantized in `model_dir` (those with a scale tensor) dequantized and compared with
// the same tensors of `baseline_dir`.
std::vector<std::pair<std::string, double>> weight_sqnr(const std::filesystem::path& model_dir,
                                                        const std::filesystem::path& baseline_dir);

// Writes out_dir/compare.md, compare.json and compare.png (gnuplot; Error if it is missing or fails).
void write_comparison(const std::filesystem::path& out_dir, const std::string& baseline,
                      const std::vector<ModelComparison>& models);

}  // namespace hifp8::eval
