#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "hifp8/model/config.h"
#include "hifp8/quant/scheme.h"
#include "hifp8/format/format.h"

namespace hifp8::cli {
namespace {

std::string number(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", double(v));
  return buf;
}

void print_table() {
  std::printf("%-11s %4s %10s %14s %14s %4s  %-22s %s\n", "name", "bits", "max", "min_normal", "min_subnormal",
              "inf", "nan", "rounding");
  for (const FormatInfo& f : all_formats())
    std::printf("%-11s %4d %10s %14s %14s %4s  %-22s %s\n", std::string(f.name).c_str(), f.bits,
                number(f.max_finite).c_str(), number(f.min_normal).c_str(), number(f.min_subnormal).c_str(),
                f.has_inf ? "yes" : "no", std::string(f.nan_codes).c_str(),
                f.rounding == Rounding::nearest_ties_away ? "nearest, ties away" : "nearest, ties even");
}

void print_json() {
  nlohmann::json out = nlohmann::json::array();
  for (const FormatInfo& f : all_formats())
    out.push_back({{"name", f.name},
                   {"summary", f.summary},
                   {"bits", f.bits},
                   {"max_finite", f.max_finite},
                   {"min_normal", f.min_normal},
                   {"min_subnormal", f.min_subnormal},
                   {"inf", f.has_inf},
                   {"nan", f.nan_codes},
                   {"rounding", f.rounding == Rounding::nearest_ties_away ? "ties_away" : "ties_even"}});
  std::printf("%s\n", out.dump(2).c_str());
}

// Every code of one format with its value (the generated decode table), 8 per line.
void print_values(const std::string& name) {
  const FormatInfo& f = find_format(name);
  std::printf("%s: code -> value\n", std::string(f.name).c_str());
  for (int c = 0; c < 256; ++c)
    std::printf("%02x %-14s%s", c, number(f.decode(uint8_t(c))).c_str(), c % 8 == 7 ? "\n" : " ");
}

}  // namespace

void print_schemes() {
  std::printf("| scheme | what it writes | loads in |\n|---|---|---|\n");
  for (const Scheme& s : all_schemes())
    std::printf("| %s | %s | %s |\n", std::string(s.name).c_str(), std::string(s.summary).c_str(),
                std::string(loaded_by(s.export_kind)).c_str());
}

void print_architectures() {
  std::printf("| architectures (config.json) | CPU engine | GPU engine (--device cuda) |\n|---|---|---|\n");
  for (const model::SupportedArchitecture& a : model::supported_architectures())
    std::printf("| %s | yes | %s |\n", std::string(a.class_name).c_str(), a.gpu ? "yes" : "no");
}

void add_formats_command(CLI::App& app) {
  app.add_subcommand("schemes", "List the quantization schemes, what each writes and which engines load it")
      ->callback(print_schemes);
  app.add_subcommand("architectures", "List the model architectures the CPU and GPU engines run")
      ->callback(print_architectures);
  CLI::App* cmd = app.add_subcommand("formats", "List the 8-bit formats and their ranges");
  auto json = std::make_shared<bool>(false);
  auto values = std::make_shared<std::string>();
  cmd->add_flag("--json", *json, "Print a JSON array instead of a table");
  cmd->add_option("--values", *values, "Print all 256 codes of one format with their values");
  cmd->callback([json, values] {
    if (!values->empty()) return print_values(*values);
    *json ? print_json() : print_table();
  });
}

}  // namespace hifp8::cli
