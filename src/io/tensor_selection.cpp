#include "hifp8/io/tensor_selection.h"

#include "hifp8/error.h"

namespace hifp8::io {
namespace {

const std::regex kLinearWeight(
    R"((^|\.)(q_proj|k_proj|v_proj|o_proj|qkv_proj|gate_proj|up_proj|down_proj|gate_up_proj|w1|w2|w3)\.weight$)");
const std::regex kRouter(R"((^|\.)(mlp|block_sparse_moe)\.(gate|router)\.weight$)");
const std::regex kLmHead(R"((^|\.)lm_head\.weight$)");

}  // namespace

std::string module_name(const std::string& tensor_name) {
  const std::string suffix = ".weight";
  if (tensor_name.size() > suffix.size() && tensor_name.ends_with(suffix))
    return tensor_name.substr(0, tensor_name.size() - suffix.size());
  return tensor_name;
}

TensorSelector::TensorSelector(const SelectionRules& rules) : include_lm_head_(rules.include_lm_head) {
  for (std::string pattern : rules.ignore) {
    if (pattern.rfind("re:", 0) == 0) pattern = pattern.substr(3);
    try {
      ignore_.emplace_back(pattern);
    } catch (const std::regex_error& e) {
      throw Error("bad --ignore regex '" + pattern + "': " + e.what());
    }
  }
}

TensorRole TensorSelector::classify(const std::string& name, size_t ndims) const {
  if (ndims < 2) return TensorRole::keep;
  if (std::regex_search(name, kRouter)) return TensorRole::keep_linear;
  const bool lm_head = std::regex_search(name, kLmHead);
  if (!lm_head && !std::regex_search(name, kLinearWeight)) return TensorRole::keep;
  if (lm_head && !include_lm_head_) return TensorRole::keep_linear;
  const std::string module = module_name(name);
  for (const std::regex& r : ignore_)
    if (std::regex_search(module, r)) return TensorRole::keep_linear;
  return TensorRole::quantize;
}

}  // namespace hifp8::io
