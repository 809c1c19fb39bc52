// The engine options every command that runs a model takes, registered and resolved in one place.
#include <algorithm>

#include "cli/commands.h"

namespace hifp8::cli {

void add_engine_options(CLI::App* cmd, EngineArgs& a, bool act_quant) {
  cmd->add_option("--device", a.options.device, "cpu or cuda")->capture_default_str();
  cmd->add_option("--kv-cache-dtype", a.options.kv_cache_dtype, "f32 (CPU default), bf16 (GPU default), fp8_e4m3, fp8_e5m2, hif8");
  if (act_quant) cmd->add_option("--act-quant", a.act_quant, "Quantize 8-bit linears' inputs: none (W8A16), dynamic (per token), static (CPU), auto (CPU: none; GPU: W8A8 for E4M3 weights from 9 rows on)")->capture_default_str();
  cmd->add_option("--max-context", a.options.max_context, "Positions per sequence (default: the model's)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", a.options.threads, "CPU threads (0: all cores)");
}

LoadedEngine load_engine(const std::string& dir, const EngineArgs& a, int64_t needed) {
  model::EngineOptions o = a.options;
  o.act_quant = model::parse_act_quant(a.act_quant);
  LoadedEngine e;
  e.model = std::make_unique<model::Model>(model::Model::load(dir, {o.act_quant, o.threads}));
  if (o.max_context == 0 && needed > 0) o.max_context = std::max<int64_t>(1, std::min(needed, e.model->config().max_positions));
  e.engine = model::open_engine(*e.model, o);
  return e;
}

}  // namespace hifp8::cli
