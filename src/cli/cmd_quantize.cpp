// hifp8 quantize MODEL OUT --scheme S ...   and   hifp8 synth --config NAME --out DIR ...
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/progress.h"
#include "hifp8/io/file_bytes.h"
#include "hifp8/error.h"
#include "hifp8/io/checkpoint.h"
#include "hifp8/model/config.h"
#include "hifp8/model/model.h"
#include "hifp8/pipeline/quantize_checkpoint.h"
#include "hifp8/io/sharded_writer.h"
#include "hifp8/io/synthetic_checkpoint.h"
#include "hifp8/quant/scheme.h"

namespace hifp8::cli {
namespace {

struct QuantizeArgs {
  std::string input, output, scheme = "fp8-dynamic", granularity, max_shard = "5GB", report;
  float target = 0;
  std::vector<std::string> ignore;
  bool include_lm_head = false, allow_nonfinite = false, force = false, quiet = false;
  int threads = 0;
  std::string calib, observer = "max", device = "cpu";
  float smooth_alpha = -1;  // < 0: no smoothing
  std::string formats;      // scheme mixed: candidates, comma-separated
  size_t keep_bf16 = 0;
  bool smooth_full = false;
  size_t calib_samples = 128;
  int64_t seq_len = 512;
};


// Before anything is written: a model of an architecture the engine knows must have that
// architecture's tensors with the config's shapes (num_hidden_layers -1, vocab_size 0, a transposed
// embedding are refused here). Another architecture's weights are quantized as found, with a warning;
// calibration runs the engine, so it needs a known one.
void check_architecture(const std::string& input, bool calibrating) {
  const io::Checkpoint ckpt = io::Checkpoint::open(input);
  const std::string arch = ckpt.architecture();
  if (model::architecture_of(arch)) return model::Model::validate(input);
  if (calibrating) throw Error("--calib runs the model, and architecture '" + arch + "' is not one hifp8 runs");
  std::fprintf(stderr, "hifp8: warning: architecture '%s' is not one hifp8 runs: its 2-D weights are quantized as found, "
               "without checking their shapes against the architecture\n", arch.c_str());
}

void run_quantize(const QuantizeArgs& a) {
  pipeline::QuantizeCheckpointOptions opt;
  opt.scheme = a.scheme;
  if (!a.granularity.empty()) opt.granularity = Granularity::parse(a.granularity);
  opt.target = a.target;
  opt.selection = {a.ignore, a.include_lm_head};
  opt.allow_nonfinite = a.allow_nonfinite;
  opt.force = a.force;
  opt.max_shard_bytes = io::parse_byte_size(a.max_shard);
  opt.threads = a.threads;
  if (!a.calib.empty()) {
    calib::CalibrationOptions c;
    c.data = a.calib, c.samples = a.calib_samples, c.seq_len = a.seq_len, c.observer = a.observer;
    c.engine.device = a.device, c.engine.threads = a.threads;
    if (!a.quiet) {
      auto calib_bar = std::make_shared<std::unique_ptr<ProgressBar>>();
      c.progress = [calib_bar, device = a.device](size_t done, size_t total, size_t tokens) {
        if (done == 0) {  // the clock starts when the model is loaded
          *calib_bar = std::make_unique<ProgressBar>("calibrate on " + device, ProgressBar::Unit::tokens);
          return;
        }
        // Sequences are about equally long: the tokens still to come are estimated from those seen.
        const auto expected = uint64_t(double(tokens) / double(done) * double(total));
        (*calib_bar)->update(tokens, done == total ? tokens : expected,
                             std::to_string(done) + "/" + std::to_string(total) + " sequences", "");
        if (done == total) (*calib_bar)->finish();
      };
    }
    opt.calibration = c;
  }
  if (a.smooth_alpha >= 0) opt.smooth_alpha = a.smooth_alpha;
  if (!a.formats.empty()) {
    opt.mixed_formats.clear();
    std::stringstream list(a.formats);
    for (std::string f; std::getline(list, f, ',');) opt.mixed_formats.push_back(f);
  }
  opt.keep_bf16 = a.keep_bf16;
  opt.smooth_full = a.smooth_full;
  check_architecture(a.input, opt.calibration.has_value());
  // Made at the first report, after any calibration: its clock and ETA cover the writing alone.
  auto bar = std::make_shared<std::unique_ptr<ProgressBar>>();
  if (!a.quiet)
    opt.progress = [bar, label = "quantize " + a.scheme](const pipeline::QuantizeProgress& p) {
      if (!*bar) *bar = std::make_unique<ProgressBar>(label);
      (*bar)->update(p.bytes_done, p.bytes_total, std::to_string(p.tensors_done) + "/" + std::to_string(p.tensors_total) + " tensors", p.current);
    };
  const pipeline::QuantizeReport report = pipeline::quantize_checkpoint(a.input, a.output, opt);
  if (*bar) (*bar)->finish();
  if (!a.report.empty()) {
    io::write_file(a.report, report.to_json().dump(2) + "\n");
  }
  std::printf("%s", report.to_markdown().c_str());
  std::printf("\nLoads in: %s (docs/quantize.md).\n", std::string(loaded_by(find_scheme(a.scheme).export_kind)).c_str());
  std::printf("Next, what it cost against the original on text of the model's domain (perplexity, KL, top-1):\n"
              "  hifp8 eval ppl --model %s --baseline %s --text FILE\n",
              a.output.c_str(), a.input.c_str());
}

std::string scheme_help() {
  std::string help = "Quantization scheme:";
  for (const Scheme& s : all_schemes()) help += "\n  " + std::string(s.name) + ": " + std::string(s.summary);
  return help;
}

struct SynthArgs {
  std::string preset = "tiny", dtype = "BF16", out, max_shard = "5GB";
  int layers = 0, threads = 0;
  uint64_t seed = 0;
  bool force = false;
};

void run_synth(const SynthArgs& a) {
  io::SyntheticOptions opt;
  opt.preset = a.preset;
  std::string dtype = a.dtype;
  for (char& c : dtype) c = char(std::toupper(static_cast<unsigned char>(c)));
  opt.dtype = io::parse_tensor_dtype(dtype);
  opt.layers = a.layers;
  opt.seed = a.seed;
  opt.max_shard_bytes = io::parse_byte_size(a.max_shard);
  opt.force = a.force;
  opt.threads = a.threads;
  const uint64_t bytes = io::write_synthetic_checkpoint(a.out, opt);
  std::printf("wrote %s: %.3f GB of %s weights\n", a.out.c_str(), double(bytes) / 1e9, dtype.c_str());
}

}  // namespace

void add_quantize_commands(CLI::App& app) {
  auto q = std::make_shared<QuantizeArgs>();
  CLI::App* cmd = app.add_subcommand("quantize", "Quantize a Hugging Face checkpoint directory");
  cmd->add_option("model", q->input, "Input model directory (config.json + safetensors)")->required();
  cmd->add_option("output", q->output, "Output directory (refused if it exists, unless --force)")->required();
  cmd->add_option("--scheme", q->scheme, scheme_help());
  cmd->add_option("--granularity", q->granularity, "Weight scales: tensor, channel, group:N, block:RxC (default: the scheme's)");
  cmd->add_option("--hif8-target,--target", q->target, "Value a group's amax is scaled to (default: max finite; HiF8: 16)");
  cmd->add_option("--ignore", q->ignore, "Regex of modules to leave unquantized (repeatable)");
  cmd->add_flag("--include-lm-head", q->include_lm_head, "Quantize lm_head too");
  cmd->add_flag("--allow-nonfinite", q->allow_nonfinite, "Clamp NaN/Inf weights instead of failing");
  cmd->add_flag("--force", q->force, "Replace an existing output directory");
  cmd->add_option("--max-shard-size", q->max_shard, "Largest output shard (default 5GB)");
  cmd->add_option("--threads", q->threads, "Threads (0: all cores)");
  cmd->add_option("--report", q->report, "Write the full per-tensor report as JSON");
  cmd->add_flag("--quiet", q->quiet, "No progress bar");
  cmd->add_option("--calib", q->calib, "Calibration data (*.tokens file or text): static activation and KV-cache scales");
  cmd->add_option("--calib-samples", q->calib_samples, "Calibration sequences (default 128)");
  cmd->add_option("--seq-len", q->seq_len, "Tokens per calibration sequence (default 512)");
  cmd->add_option("--device", q->device, "Where calibration runs: cpu (default) or cuda");
  cmd->add_option("--observer", q->observer, "Calibration statistic: max (default), percentile:P (e.g. percentile:99.99) or mse");
  cmd->add_option("--smooth-alpha", q->smooth_alpha, "SmoothQuant with this migration strength (0.5 is usual; needs --calib)");
  cmd->add_flag("--smooth-full", q->smooth_full, "SmoothQuant down_proj too (folded into up_proj)");
  cmd->add_option("--formats", q->formats, "Scheme mixed: candidate formats (default hif8,e4m3,e5m2,int8)");
  cmd->add_option("--keep-bf16", q->keep_bf16, "Scheme mixed: leave the K most sensitive layers in bf16");
  cmd->callback([q] { run_quantize(*q); });

  auto s = std::make_shared<SynthArgs>();
  CLI::App* synth = app.add_subcommand("synth", "Write a random-weight Llama-shaped checkpoint");
  std::string presets;
  for (const std::string& p : io::synthetic_presets()) presets += (presets.empty() ? "" : ", ") + p;
  synth->add_option("--config", s->preset, "Shape preset: " + presets);
  synth->add_option("--dtype", s->dtype, "bf16, f16 or f32");
  synth->add_option("--out", s->out, "Output directory")->required();
  synth->add_option("--layers", s->layers, "Decoder layers (default: the preset's)");
  synth->add_option("--seed", s->seed, "Random seed");
  synth->add_option("--max-shard-size", s->max_shard, "Largest shard (default 5GB)");
  synth->add_option("--threads", s->threads, "Threads (0: all cores)");
  synth->add_flag("--force", s->force, "Replace an existing output directory");
  synth->callback([s] { run_synth(*s); });
}

}  // namespace hifp8::cli
