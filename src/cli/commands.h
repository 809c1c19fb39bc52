#pragma once
// Each subcommand registers itself on the app; its callback throws hifp8::Error for bad input,
// which main() turns into a one-line message and exit code 2.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hifp8/model/engine.h"

namespace hifp8::cli {

// --device, --kv-cache-dtype, --act-quant, --max-context, --threads: one set for every command that
// runs a model, resolved by model::open_engine.
struct EngineArgs {
  model::EngineOptions options;
  std::string act_quant = "auto";
};
void add_engine_options(CLI::App* cmd, EngineArgs& a, bool act_quant = true);
// The model loaded (with the act-quant and threads asked) and the engine over it. Without
// --max-context, `needed` positions (capped at the model's) when given, else the model's.
struct LoadedEngine {
  std::unique_ptr<model::Model> model;  // the CPU engine reads it; kept alive with the engine
  std::unique_ptr<model::Engine> engine;
};
LoadedEngine load_engine(const std::string& dir, const EngineArgs& a, int64_t needed = 0);

// "1,2,3" as token ids; Error naming `option` for anything else.
std::vector<int32_t> parse_token_ids(const std::string& text, const std::string& option);

void add_formats_command(CLI::App& app);
void add_codec_commands(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_quantize_commands(CLI::App& app);
void add_inspect_command(CLI::App& app);
void add_generate_commands(CLI::App& app);
void add_eval_commands(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_tokenize_commands(CLI::App& app);
void add_bench_matmul_command(CLI::App& bench);  // under "bench"
void add_bench_engine_command(CLI::App& bench);  // under "bench"

}  // namespace hifp8::cli
