#pragma once
// Block-format codecs on the GPU (libhifp8_cuda): the definitions of hifp8/format/block_formats.h run
// by one thread per block, so every result equals the CPU's bit for bit. Pointers are device memory;
// `blocks` consecutive blocks; element codes one per byte. Correctness first: not tuned for bandwidth.
#include <cstdint>

#include "hifp8/format/block_formats.h"

namespace hifp8::cuda {

// Throws Error (after synchronising `stream`) when the even rule has no scale for some block, as
// block::mx_quantize does; those blocks get the NaN scale.
void mx_quantize_blocks(block::MxElement element, block::MxScaleRule rule, const float* x, int64_t blocks,
                        uint8_t* codes, uint8_t* scales, void* stream = nullptr);
void mx_dequantize_blocks(block::MxElement element, const uint8_t* codes, const uint8_t* scales, int64_t blocks,
                          float* out, void* stream = nullptr);
void nvfp4_quantize_blocks(float global_scale, const float* w, int64_t blocks, uint8_t* codes, uint8_t* scales,
                           void* stream = nullptr);
void nvfp4_dequantize_blocks(float global_scale, const uint8_t* codes, const uint8_t* scales, int64_t blocks,
                             float* out, void* stream = nullptr);
void hif4_quantize_blocks(const float* x, int64_t blocks, block::Hif4Unit* units, void* stream = nullptr);
void hif4_dequantize_blocks(const block::Hif4Unit* units, int64_t blocks, float* out, void* stream = nullptr);

}  // namespace hifp8::cuda
