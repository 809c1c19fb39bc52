#include "hifp8/quant/scheme.h"

#include <array>
#include <string>

#include "hifp8/error.h"

namespace hifp8 {
namespace {

const Granularity kChannel{GranularityKind::channel};
const Granularity kTensor{GranularityKind::tensor};
const Granularity kBlock{GranularityKind::block};

const std::array<Scheme, 9> kSchemes = {{
    {"fp8-dynamic", "E4M3 per-channel weights, dynamic per-token activations (compressed-tensors FP8_DYNAMIC)",
     FormatId::fp8_e4m3fn, ExportKind::compressed_tensors, kChannel, true},
    {"fp8-tensor", "E4M3 per-tensor weights, dynamic activations (legacy quant_method fp8)", FormatId::fp8_e4m3fn,
     ExportKind::fp8_legacy, kTensor, false},
    {"fp8-block", "E4M3 128x128 block weights with weight_scale_inv (DeepSeek-V3 / FineGrainedFP8)",
     FormatId::fp8_e4m3fn, ExportKind::fp8_block, kBlock, true},
    {"int8-dynamic", "INT8 per-channel weights, dynamic per-token activations (compressed-tensors W8A8)",
     FormatId::int8, ExportKind::compressed_tensors, kChannel, true},
    {"hif8", "HiF8 codes (Ascend layout) with per-channel scales (hifp8 native)", FormatId::hif8,
     ExportKind::hif8_native, kChannel, true},
    {"fake-hif8", "original dtype, weights quantized to HiF8 and back", FormatId::hif8, ExportKind::fake_quant,
     kChannel, true},
    {"fake-fp8", "original dtype, weights quantized to E4M3 and back", FormatId::fp8_e4m3fn, ExportKind::fake_quant,
     kChannel, true},
    {"fake-int8", "original dtype, weights quantized to INT8 and back", FormatId::int8, ExportKind::fake_quant,
     kChannel, true},
    {"mixed", "original dtype, each weight quantized and back in the format with the least output error on --calib data",
     FormatId::fp8_e4m3fn, ExportKind::fake_quant, kChannel, false},
}};

}  // namespace

std::string_view loaded_by(ExportKind kind) {
  switch (kind) {
    case ExportKind::compressed_tensors: return "vLLM and SGLang; transformers with the compressed-tensors package; hifp8";
    case ExportKind::fp8_legacy: return "vLLM and SGLang; hifp8";
    case ExportKind::fp8_block: return "vLLM, SGLang and transformers (FineGrainedFP8); hifp8";
    case ExportKind::hif8_native: return "hifp8 (generate, eval, serve; CPU and GPU engines); transformers after `import hifp8.transformers`";
    case ExportKind::fake_quant: return "every engine (original dtype: vLLM, SGLang, transformers, TensorRT-LLM, llama.cpp)";
  }
  return "hifp8";
}

std::span<const Scheme> all_schemes() { return kSchemes; }

const Scheme& find_scheme(std::string_view name) {
  for (const Scheme& s : kSchemes)
    if (s.name == name) return s;
  std::string known;
  for (const Scheme& s : kSchemes) known += (known.empty() ? "" : ", ") + std::string(s.name);
  throw Error("unknown scheme '" + std::string(name) + "' (known: " + known + ")");
}

}  // namespace hifp8
