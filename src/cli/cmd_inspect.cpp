// hifp8 inspect DIR [--validate] [--json] [--tensor NAME --dequant-out FILE]
#include <nlohmann/json.hpp>

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
  bool validate = false, json = false;
};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

void throw_if_invalid(const std::vector<std::string>& problems) {
  if (!problems.empty()) throw Error("validation found " + std::to_string(problems.size()) + " problem(s)");
}

// The listing as one JSON object; with --validate also {"validation": {"ok", "problems"}}, and exit 2
// on problems as the text form does.
void print_json(const InspectArgs& a, const io::Checkpoint& ckpt) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const io::Checkpoint::Entry& e : ckpt.tensors())
    tensors.push_back({{"name", e.info->name}, {"dtype", std::string(io::dtype_name(e.info->dtype))},
                       {"shape", e.info->shape}, {"shard", ckpt.shards()[e.shard].path().filename().string()}});
  const auto qc = ckpt.config().find("quantization_config");
  nlohmann::json j = {{"path", a.dir}, {"architecture", ckpt.architecture()}, {"shards", ckpt.shards().size()},
                      {"bytes", ckpt.total_bytes()}, {"quantization_config", qc == ckpt.config().end() ? nlohmann::json(nullptr) : *qc},
                      {"tensors", tensors}};
  std::vector<std::string> problems;
  if (a.validate) {
    problems = io::validate_checkpoint(ckpt);
    j["validation"] = {{"ok", problems.empty()}, {"problems", problems}};
  }
  std::printf("%s\n", j.dump(2).c_str());
  throw_if_invalid(problems);
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
  if (a.json) {
    print_json(a, ckpt);
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
  throw_if_invalid(problems);
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto a = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand("inspect", "List a checkpoint's tensors and quantization config");
  cmd->add_option("dir", a->dir, "Model directory")->required();
  cmd->add_flag("--validate", a->validate, "Check scales and config against the tensors (exit 2 on problems)");
  cmd->add_flag("--json", a->json, "One JSON object: architecture, quantization_config, tensors (and validation)");
  cmd->add_option("--tensor", a->tensor, "Tensor to dequantize");
  cmd->add_option("--dequant-out", a->dequant_out, "Write it as raw little-endian float32 here");
  cmd->callback([a] { run_inspect(*a); });
}

}  // namespace hifp8::cli
