#pragma once
// GPT-OSS stores each layer's experts as three-dimensional tensors (mlp.experts.gate_up_proj
// [experts, hidden, 2 x intermediate] with gate and up interleaved column by column, down_proj
// [experts, intermediate, hidden], and their biases), in the published checkpoint as MXFP4 blocks
// (gate_up_proj_blocks [experts, 2 x intermediate, hidden / 32, 16] of packed E2M1 pairs, low nibble
// first, and gate_up_proj_scales of E8M0 exponents, one per 32 values). This splits them into the
// per-expert linears every other MoE uses: mlp.experts.E.{gate,up,down}_proj.{weight,bias}, row-major
// [out, in], BF16 (MXFP4 values are exact in BF16) or the source's float type. The engine and
// `quantize` then see ordinary linears; a checkpoint already in that layout is left as it is.
#include <optional>
#include <string>
#include <vector>

#include "hifp8/io/checkpoint.h"

namespace hifp8::io {

struct SplitExperts {
  SafetensorsFile tensors;               // the per-expert tensors, in memory
  std::vector<std::string> replaced;     // the fused tensors they stand for
  bool from_mxfp4 = false;               // the config's mxfp4 quantization_config no longer applies
};

// nullopt when the checkpoint has no fused expert tensors. Errors name a tensor with a wrong shape.
std::optional<SplitExperts> split_fused_experts(const Checkpoint& checkpoint);

// MXFP4 (OCP microscaling, E2M1 values with an E8M0 scale per 32): value of nibble `code` scaled by
// 2^(scale - 127).
float mxfp4_value(uint8_t code, uint8_t scale);

}  // namespace hifp8::io
