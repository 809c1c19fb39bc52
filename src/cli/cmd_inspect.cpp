// hifp8 inspect DIR [--validate] [--tensor NAME --dequant-out FILE]
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "hifp8/error.h"
#include "hifp8/io/checkpoint.h"
#include "hifp8/io/checkpoint_inspect.h"
#include "hifp8/io/file_bytes.h"

namespace hifp8::cli {
namespace {

struct InspectArgs {
  std::string dir, tensor, dequant_out;
  bool validate = false;
};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

void run_inspect(const InspectArgs& a) {
  const io::Checkpoint ckpt = io::Checkpoint::open(a.dir);
  if (!a.dequant_out.empty() || !a.tensor.empty()) {
    if (a.tensor.empty() || a.dequant_out.empty()) throw Error("--tensor and --dequant-out go together");
    const std::vector<float> values = io::dequantize_tensor(ckpt, a.tensor);
    io::write_all(a.dequant_out, values.data(), values.size() * sizeof(float));
    std::fprintf(stderr, "wrote %zu float32 values of %s to %s\n", values.size(), a.tensor.c_str(), a.dequant_out.c_str());
    return;
  }
  std::printf("%s: %s, %zu tensors in %zu shard(s), %.3f GB\n", a.dir.c_str(), ckpt.architecture().c_str(),
              ckpt.tensors().size(), ckpt.shards().size(), double(ckpt.total_bytes()) / 1e9);
  const auto qc = ckpt.config().find("quantization_config");
  std::printf("quantization_config: %s\n\n", qc == ckpt.config().end() ? "none" : qc->dump(2).c_str());
  std::printf("%-64s %-8s %-20s %s\n", "tensor", "dtype", "shape", "shard");
  for (const io::Checkpoint::Entry& e : ckpt.tensors())
    std::printf("%-64s %-8s %-20s %s\n", e.info->name.c_str(), std::string(io::dtype_name(e.info->dtype)).c_str(),
                shape_text(e.info->shape).c_str(), ckpt.shards()[e.shard].path().filename().c_str());
  if (!a.validate) return;
  const std::vector<std::string> problems = io::validate_checkpoint(ckpt);
  if (problems.empty()) {
    std::printf("\nvalidate: OK\n");
    return;
  }
  for (const std::string& p : problems) std::printf("validate: %s\n", p.c_str());
  throw Error("validation found " + std::to_string(problems.size()) + " problem(s)");
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto a = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand("inspect", "List a checkpoint's tensors and quantization config");
  cmd->add_option("dir", a->dir, "Model directory")->required();
  cmd->add_flag("--validate", a->validate, "Check scales and config against the tensors (exit 2 on problems)");
  cmd->add_option("--tensor", a->tensor, "Tensor to dequantize");
  cmd->add_option("--dequant-out", a->dequant_out, "Write it as raw little-endian float32 here");
  cmd->callback([a] { run_inspect(*a); });
}

}  // namespace hifp8::cli
