#pragma once
// Which tensors of a checkpoint are quantized: the Linear weights of decoder layers (attention
// q/k/v/o, MLP gate/up/down, fused qkv/gate_up, MoE experts incl. Mixtral's w1/w2/w3). Never by
// default: embeddings, lm_head (unless asked), norms, biases, MoE routers.
#include <regex>
#include <string>
#include <vector>

namespace hifp8::io {

struct SelectionRules {
  std::vector<std::string> ignore;  // regexes searched in the module name (a leading "re:" is allowed)
  bool include_lm_head = false;
};

enum class TensorRole {
  quantize,
  keep,         // not a Linear weight (embedding, norm, bias, ...): copied
  keep_linear,  // a Linear weight left unquantized (lm_head, router, --ignore): copied and listed in "ignore"
};

class TensorSelector {
 public:
  explicit TensorSelector(const SelectionRules& rules);  // throws Error on a bad regex
  TensorRole classify(const std::string& tensor_name, size_t ndims) const;

 private:
  std::vector<std::regex> ignore_;
  bool include_lm_head_;
};

// "model.layers.0.mlp.up_proj.weight" -> "model.layers.0.mlp.up_proj"
std::string module_name(const std::string& tensor_name);

}  // namespace hifp8::io
