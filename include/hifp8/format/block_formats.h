#pragma once
// Block formats: elements that share a scale per block (../shared/spec/microscaling.md,
// ../shared/spec/hifloat4.md). One block at a time, bit for bit with the specs' golden vectors:
//   MX (OCP):  32 elements (E2M1, E4M3 or E5M2) and one E8M0 scale byte, 2^(byte - 127).
//   NVFP4:     16 E2M1 elements, one UE4M3 scale byte, and a float32 global (encode) scale per tensor.
//   HiF4:      64 S1P2 elements, an E6M2 scale, 8 level-2 and 16 level-3 exponent bits (4.5 bits/value).
// Element codes are one per byte here (4-bit codes in the low nibble); fp4::pack_pairs packs them.
#include <cstdint>

namespace hifp8::block {

// ---- MX ----
enum class MxElement { e2m1, e4m3, e5m2 };
// floor: the OCP rule (torchao's default); even: compressed-tensors' (llm-compressor's) rule, which
// first rounds the block maximum to a power of two (up when its significand is >= 1.75).
enum class MxScaleRule { floor, even };

inline constexpr int kMxBlock = 32;
inline constexpr uint8_t kE8M0Nan = 0xff;

// 2^(byte - 127); byte 255 is NaN.
float e8m0_decode(uint8_t byte);
// Quantizes x[0..31]: returns the scale byte and writes 32 element codes. A block with a NaN or Inf
// gets the NaN scale (its codes are then zeros). With the even rule, a maximum that rounds to Inf
// (>= 1.75 * 2^127) has no defined scale: Error.
uint8_t mx_quantize(MxElement element, MxScaleRule rule, const float* x, uint8_t* codes);
void mx_dequantize(MxElement element, uint8_t scale, const uint8_t* codes, float* out);

// ---- NVFP4 ----
inline constexpr int kNvfp4Block = 16;
// The tensor's global encode scale g = 2688 / max(amax, 2^-126) (float32 reciprocal, then multiply),
// 1 when that is not finite (compressed-tensors' weight path; checkpoints store g).
float nvfp4_global_scale(float amax);
// Quantizes w[0..15] with global scale g: returns the UE4M3 block-scale byte, writes 16 E2M1 codes.
// Inputs must be finite (the format has no NaN or Inf; callers reject them).
uint8_t nvfp4_quantize(float global_scale, const float* w, uint8_t* codes);
// e2m1(code) * (ue4m3(scale) / g), as compressed-tensors dequantizes.
void nvfp4_dequantize(float global_scale, uint8_t scale, const uint8_t* codes, float* out);

// ---- HiF4 ----
inline constexpr int kHif4Block = 64;
inline constexpr uint8_t kE6M2Nan = 0xff;

struct Hif4Unit {
  uint8_t scale = 0;   // E6M2: (1 + f/4) * 2^(E - 48), code E << 2 | f; 0xff is NaN
  uint8_t e1 = 0;      // bit k: level-2 exponent of elements 8k .. 8k+7
  uint16_t e2 = 0;     // bit j: level-3 exponent of elements 4j .. 4j+3
  uint8_t codes[kHif4Block] = {};  // S1P2
};

float e6m2_decode(uint8_t code);
// Quantizes x[0..63] as the reference CUDA kernel does (hifloat4.md section 2): float32 steps,
// ties to even for the scale, ties away from zero for the elements; +-Inf saturate. NaN inputs are
// the caller's to reject (the reference's result depends on their position).
Hif4Unit hif4_quantize(const float* x);
void hif4_dequantize(const Hif4Unit& unit, float* out);

}  // namespace hifp8::block
