#include "hifp8/io/checkpoint_inspect.h"

#include <algorithm>
#include <set>

#include "hifp8/error.h"
#include "hifp8/io/json_fields.h"
#include "hifp8/io/tensor_selection.h"
#include "hifp8/kernel/array_ops.h"

namespace hifp8::io {
namespace {

// A list of strings (module names or patterns); absent: empty.
std::vector<std::string> string_list(const JsonFields& f, const std::string& key) {
  std::vector<std::string> out;
  if (!f.has(key)) return out;
  if (!f.raw(key).is_array()) f.fail(key, "a list of strings");
  for (const nlohmann::json& v : f.raw(key)) {
    if (!v.is_string()) f.fail(key, "a list of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

constexpr int64_t kMaxBlock = int64_t{1} << 20;

Granularity granularity_from_strategy(const JsonFields& w) {
  const std::string strategy = w.string("strategy").value_or("channel");
  Granularity g;
  if (strategy == "tensor") g.kind = GranularityKind::tensor;
  else if (strategy == "channel") g.kind = GranularityKind::channel;
  else if (strategy == "group") g.kind = GranularityKind::group, g.group_size = w.integer("group_size", 1, kMaxBlock).value_or(128);
  else if (strategy == "block") {
    g.kind = GranularityKind::block;
    if (const auto bs = w.integers("block_structure", 1, kMaxBlock)) {
      if (bs->size() != 2) w.fail("block_structure", "[rows, columns]");
      g.block_rows = (*bs)[0], g.block_cols = (*bs)[1];
    }
  } else {
    throw Error("unsupported weight strategy '" + strategy + "'");
  }
  return g;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool is_code_dtype(TensorDType d) {
  return d == TensorDType::F8_E4M3 || d == TensorDType::F8_E5M2 || d == TensorDType::I8 || d == TensorDType::U8;
}

std::vector<int64_t> expected_scale_shape(const QuantizationLayout& layout, const std::vector<int64_t>& shape) {
  if (layout.method == "fp8") return {};
  return layout.granularity.scale_shape(shape);
}

}  // namespace

const FormatInfo* code_format(TensorDType d, const QuantizationLayout& layout) {
  switch (d) {
    case TensorDType::F8_E4M3: return &format_info(FormatId::fp8_e4m3fn);
    case TensorDType::F8_E5M2: return &format_info(FormatId::fp8_e5m2);
    case TensorDType::I8: return &format_info(FormatId::int8);
    case TensorDType::U8: return layout.method == "hif8" ? layout.format : nullptr;
    default: return nullptr;
  }
}

QuantizationLayout read_quantization_layout(const nlohmann::json& config) {
  QuantizationLayout layout;
  const auto qc_it = config.find("quantization_config");
  if (qc_it == config.end() || qc_it->is_null()) return layout;
  const JsonFields qc(*qc_it, "config.json quantization_config");
  const std::string method = qc.string("quant_method").value_or("");
  if (method == "compressed-tensors") {
    layout.method = method;
    const auto groups = qc.object("config_groups");
    if (!groups || groups->raw_object().empty() || !groups->raw_object().begin()->is_object())
      qc.fail("config_groups", "an object of scheme groups");
    const JsonFields group(*groups->raw_object().begin(), "config.json quantization_config config_groups");
    const auto w = group.object("weights");
    if (!w) group.fail("weights", "an object");
    layout.granularity = granularity_from_strategy(*w);
    const bool is_int = w->string("type").value_or("float") == "int";
    layout.format = &format_info(is_int ? FormatId::int8 : FormatId::fp8_e4m3fn);
    layout.weight_dtype = is_int ? TensorDType::I8 : TensorDType::F8_E4M3;
    layout.ignore = string_list(qc, "ignore");
  } else if (method == "fp8") {
    layout.format = &format_info(FormatId::fp8_e4m3fn);
    layout.ignore = string_list(qc, "ignored_layers");
    if (const auto block = qc.integers("weight_block_size", 1, kMaxBlock)) {
      if (block->size() != 2) qc.fail("weight_block_size", "[rows, columns]");
      layout.method = "fp8-block";
      layout.granularity = {GranularityKind::block, 128, (*block)[0], (*block)[1]};
      layout.scale_suffix = "weight_scale_inv";
    } else {
      layout.method = "fp8";
      layout.granularity.kind = GranularityKind::tensor;
    }
  } else if (method == "hif8") {
    layout.method = method;
    if (qc.string("format").value_or("hifloat8-ascend") != "hifloat8-ascend") throw Error("unsupported HiF8 byte layout in config");
    layout.format = &format_info(FormatId::hif8);
    layout.weight_dtype = TensorDType::U8;
    const auto w = qc.object("weights");
    layout.granularity = w ? granularity_from_strategy(*w) : granularity_from_strategy(JsonFields(nlohmann::json::object(), ""));
    layout.ignore = string_list(qc, "ignore");
  } else {
    throw Error("unsupported quant_method '" + method + "'");
  }
  return layout;
}

std::vector<float> dequantize_tensor(const Checkpoint& ckpt, const std::string& name) {
  const Checkpoint::Entry* e = ckpt.find(name);
  if (!e) throw Error("no tensor named '" + name + "' in " + ckpt.dir().string());
  const TensorInfo& t = *e->info;
  std::vector<float> out(t.numel());
  if (is_float_wide(t.dtype)) {
    const kernel::DType d = kernel_dtype(t.dtype);
    kernel::widen(ckpt.bytes(*e).data(), d, out.data(), out.size());
    return out;
  }
  if (!is_code_dtype(t.dtype)) throw Error("tensor '" + name + "' has dtype " + std::string(dtype_name(t.dtype)) + ", which hifp8 does not dequantize");
  const QuantizationLayout layout = read_quantization_layout(ckpt.config());
  const std::string scale_name = module_name(name) + "." + layout.scale_suffix;
  const Checkpoint::Entry* s = ckpt.find(scale_name);
  if (!s) throw Error("quantized tensor '" + name + "' has no scale tensor '" + scale_name + "'");
  QuantizedTensor q;
  q.format = code_format(t.dtype, layout);
  if (!q.format) throw Error("U8 tensor in a checkpoint without a HiF8 quantization_config");
  q.granularity = layout.granularity;
  q.shape = t.shape;
  q.scale_shape = layout.granularity.scale_shape(t.shape);
  const auto codes = ckpt.bytes(*e);
  q.codes.assign(codes.begin(), codes.end());
  q.scales = dequantize_tensor(ckpt, scale_name);
  dequantize(q, out);
  return out;
}

std::vector<std::string> validate_checkpoint(const Checkpoint& ckpt) {
  std::vector<std::string> problems;
  QuantizationLayout layout;
  try {
    layout = read_quantization_layout(ckpt.config());
  } catch (const std::exception& e) {
    return {std::string("config.json quantization_config: ") + e.what()};
  }
  if (layout.method == "none") return problems;
  const std::set<std::string> ignore(layout.ignore.begin(), layout.ignore.end());
  const TensorSelector selector({{}, true});
  std::set<std::string> quantized_modules;
  for (const Checkpoint::Entry& e : ckpt.tensors()) {
    const TensorInfo& t = *e.info;
    const std::string module = module_name(t.name);
    if (is_code_dtype(t.dtype)) {
      quantized_modules.insert(module);
      if (t.dtype != layout.weight_dtype)
        problems.push_back(t.name + ": dtype " + std::string(dtype_name(t.dtype)) + ", but the config's method " +
                           layout.method + " stores " + std::string(dtype_name(layout.weight_dtype)));
      if (ignore.count(module)) problems.push_back(t.name + ": quantized, but its module is in the config's ignore list");
      const Checkpoint::Entry* s = ckpt.find(module + "." + layout.scale_suffix);
      if (!s) {
        problems.push_back(t.name + ": no scale tensor " + module + "." + layout.scale_suffix);
        continue;
      }
      if (!is_float_wide(s->info->dtype))
        problems.push_back(s->info->name + ": dtype " + std::string(dtype_name(s->info->dtype)) + ", expected F32 (or F16/BF16)");
      std::vector<int64_t> expected;
      try {
        expected = expected_scale_shape(layout, t.shape);
      } catch (const std::exception& err) {
        problems.push_back(t.name + ": " + err.what());
        continue;
      }
      const bool scalar_ok = layout.granularity.kind == GranularityKind::tensor && s->info->numel() == 1;
      if (s->info->shape != expected && !scalar_ok)
        problems.push_back(s->info->name + ": shape " + shape_text(s->info->shape) + ", expected " + shape_text(expected) +
                           " for weight " + shape_text(t.shape) + " with " + layout.granularity.to_string() + " scales");
    } else if (selector.classify(t.name, t.shape.size()) == TensorRole::quantize && !ignore.count(module) &&
               module != "lm_head") {
      problems.push_back(t.name + ": a Linear weight left in " + std::string(dtype_name(t.dtype)) +
                         " but not in the config's ignore list");
    }
  }
  if (quantized_modules.empty()) problems.push_back("config declares " + layout.method + " quantization but no tensor is quantized");
  return problems;
}

}  // namespace hifp8::io
