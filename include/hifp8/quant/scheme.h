#pragma once
// Checkpoint quantization schemes, described by data: which format, which weight granularity, and
// which checkpoint layout (export) the result is written in. See docs/quantize.md.
#include <span>
#include <string>
#include <string_view>

#include "hifp8/format/format.h"
#include "hifp8/format/granularity.h"

namespace hifp8 {

enum class ExportKind {
  compressed_tensors,  // llm-compressor / vLLM / SGLang "compressed-tensors"
  fp8_legacy,          // quant_method "fp8", per-tensor weight_scale (AutoFP8 / vLLM)
  fp8_block,           // quant_method "fp8" with weight_block_size, weight_scale_inv (DeepSeek-V3)
  hif8_native,         // this project's HiF8 layout: U8 codes + weight_scale
  fake_quant,          // original dtype, weights replaced by dequant(quant(w)); no quantization_config
};

struct Scheme {
  std::string_view name;
  std::string_view summary;
  FormatId format;
  ExportKind export_kind;
  Granularity default_granularity;
  bool granularity_option;  // --granularity may change it
};

// The engines that load a checkpoint written in `kind` (docs/quantize.md, "Who loads what").
std::string_view loaded_by(ExportKind kind);

std::span<const Scheme> all_schemes();
const Scheme& find_scheme(std::string_view name);  // throws Error listing the known schemes

}  // namespace hifp8
