// Block-format codecs on the GPU: one thread per block through the constexpr definitions of
// hifp8/format/block_formats.h (compiled without FMA contraction, like the 8-bit format kernels).
#include <cuda_runtime.h>

#include <algorithm>
#include <string>

#include "hifp8/error.h"
#include "hifp8/kernel/cuda.h"
#include "hifp8/kernel/cuda_blocks.h"
#include "launch.h"

namespace hifp8::cuda {
namespace {

constexpr int kThreads = 128;

unsigned grid_for(int64_t blocks) { return unsigned(std::min<int64_t>((blocks + kThreads - 1) / kThreads, 65535)); }

#define HIFP8_FOR_EACH_BLOCK(b, blocks) \
  for (int64_t b = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; b < (blocks); b += int64_t{gridDim.x} * blockDim.x)

__global__ void mx_quantize_kernel(block::MxElement e, block::MxScaleRule rule, const float* x, int64_t blocks,
                                   uint8_t* codes, uint8_t* scales, int* undefined) {
  HIFP8_FOR_EACH_BLOCK(b, blocks) {
    uint8_t* c = codes + b * block::kMxBlock;
    if (!block::mx_quantize_block(e, rule, x + b * block::kMxBlock, c, scales[b])) {
      for (int i = 0; i < block::kMxBlock; ++i) c[i] = 0;
      scales[b] = block::kE8M0Nan;
      atomicOr(undefined, 1);
    }
  }
}

__global__ void mx_dequantize_kernel(block::MxElement e, const uint8_t* codes, const uint8_t* scales, int64_t blocks,
                                     float* out) {
  HIFP8_FOR_EACH_BLOCK(b, blocks) block::mx_dequantize(e, scales[b], codes + b * block::kMxBlock, out + b * block::kMxBlock);
}

__global__ void nvfp4_quantize_kernel(float g, const float* w, int64_t blocks, uint8_t* codes, uint8_t* scales) {
  HIFP8_FOR_EACH_BLOCK(b, blocks)
    scales[b] = block::nvfp4_quantize(g, w + b * block::kNvfp4Block, codes + b * block::kNvfp4Block);
}

__global__ void nvfp4_dequantize_kernel(float g, const uint8_t* codes, const uint8_t* scales, int64_t blocks, float* out) {
  HIFP8_FOR_EACH_BLOCK(b, blocks)
    block::nvfp4_dequantize(g, scales[b], codes + b * block::kNvfp4Block, out + b * block::kNvfp4Block);
}

__global__ void hif4_quantize_kernel(const float* x, int64_t blocks, block::Hif4Unit* units) {
  HIFP8_FOR_EACH_BLOCK(b, blocks) units[b] = block::hif4_quantize(x + b * block::kHif4Block);
}

__global__ void hif4_dequantize_kernel(const block::Hif4Unit* units, int64_t blocks, float* out) {
  HIFP8_FOR_EACH_BLOCK(b, blocks) block::hif4_dequantize(units[b], out + b * block::kHif4Block);
}

#undef HIFP8_FOR_EACH_BLOCK

cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }

}  // namespace

void mx_quantize_blocks(block::MxElement element, block::MxScaleRule rule, const float* x, int64_t blocks,
                        uint8_t* codes, uint8_t* scales, void* stream) {
  if (blocks <= 0) return;
  int* undefined = static_cast<int*>(scratch_alloc(sizeof(int), stream));
  check(cudaMemsetAsync(undefined, 0, sizeof(int), as_stream(stream)), "cudaMemsetAsync");
  mx_quantize_kernel<<<grid_for(blocks), kThreads, 0, as_stream(stream)>>>(element, rule, x, blocks, codes, scales, undefined);
  check_launch("mx_quantize_kernel");
  int flag = 0;
  check(cudaMemcpyAsync(&flag, undefined, sizeof(int), cudaMemcpyDeviceToHost, as_stream(stream)), "cudaMemcpyAsync");
  scratch_free(undefined, stream);
  check(cudaStreamSynchronize(as_stream(stream)), "cudaStreamSynchronize");
  if (flag) throw Error("MX scale (even rule): a block maximum rounds to infinity; the rule defines no scale for it");
}

void mx_dequantize_blocks(block::MxElement element, const uint8_t* codes, const uint8_t* scales, int64_t blocks,
                          float* out, void* stream) {
  if (blocks <= 0) return;
  mx_dequantize_kernel<<<grid_for(blocks), kThreads, 0, as_stream(stream)>>>(element, codes, scales, blocks, out);
  check_launch("mx_dequantize_kernel");
}

void nvfp4_quantize_blocks(float global_scale, const float* w, int64_t blocks, uint8_t* codes, uint8_t* scales,
                           void* stream) {
  if (blocks <= 0) return;
  nvfp4_quantize_kernel<<<grid_for(blocks), kThreads, 0, as_stream(stream)>>>(global_scale, w, blocks, codes, scales);
  check_launch("nvfp4_quantize_kernel");
}

void nvfp4_dequantize_blocks(float global_scale, const uint8_t* codes, const uint8_t* scales, int64_t blocks,
                             float* out, void* stream) {
  if (blocks <= 0) return;
  nvfp4_dequantize_kernel<<<grid_for(blocks), kThreads, 0, as_stream(stream)>>>(global_scale, codes, scales, blocks, out);
  check_launch("nvfp4_dequantize_kernel");
}

void hif4_quantize_blocks(const float* x, int64_t blocks, block::Hif4Unit* units, void* stream) {
  if (blocks <= 0) return;
  hif4_quantize_kernel<<<grid_for(blocks), kThreads, 0, as_stream(stream)>>>(x, blocks, units);
  check_launch("hif4_quantize_kernel");
}

void hif4_dequantize_blocks(const block::Hif4Unit* units, int64_t blocks, float* out, void* stream) {
  if (blocks <= 0) return;
  hif4_dequantize_kernel<<<grid_for(blocks), kThreads, 0, as_stream(stream)>>>(units, blocks, out);
  check_launch("hif4_dequantize_kernel");
}

}  // namespace hifp8::cuda
