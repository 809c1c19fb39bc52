#include "hifp8/kernel/array_ops.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <mutex>
#include <string>
#include <vector>

#include "hifp8/error.h"
#include "hifp8/format/bits.h"
#include "kernel/cpu/hif8_avx512.h"
#include "kernel/cpu/int8_vnni.h"
#include "kernel/cpu/simd.h"
#include "hifp8/kernel/parallel.h"

namespace hifp8::kernel {
namespace {

// Elements per stack tile where a kernel chains steps (dtype widening, fake-quant): small enough to
// stay in L1, large enough that per-tile overhead vanishes.
constexpr size_t kTile = 2048;

using PrefixLut = std::array<uint32_t, 4096>;

bool is_hif8(FormatId id) { return id == FormatId::hif8 || id == FormatId::hif8_rank; }

// lut[i] = encode of the positive float32 whose top 13 bits after the sign are i (lower bits zero).
// For HiF8 the code depends only on those bits (<= 3 mantissa bits kept, ties away from zero need
// no sticky bit), except NaN with a low payload, which the kernel checks separately.
PrefixLut make_prefix_lut(FormatInfo::EncodeFn encode) {
  PrefixLut lut{};
  for (uint32_t i = 0; i < lut.size(); ++i) lut[i] = encode(f32_from_bits(i << 19));
  return lut;
}

const uint32_t* prefix_lut(const FormatInfo& format, Overflow overflow) {
  if (!is_hif8(format.id)) return nullptr;
  static const std::array<PrefixLut, 4> luts = [] {
    const FormatInfo& ascend = format_info(FormatId::hif8);
    const FormatInfo& rank = format_info(FormatId::hif8_rank);
    return std::array<PrefixLut, 4>{make_prefix_lut(ascend.encode_plain), make_prefix_lut(ascend.encode_saturate),
                                    make_prefix_lut(rank.encode_plain), make_prefix_lut(rank.encode_saturate)};
  }();
  const size_t index = (format.id == FormatId::hif8_rank ? 2 : 0) + (overflow == Overflow::saturate ? 1 : 0);
  return luts[index].data();
}

// The decode table as bfloat16 bit patterns when every value is exact in bfloat16 (else empty).
struct Bf16DecodeTable {
  bool exact = true;
  std::array<uint16_t, 256> bits{};
};

const Bf16DecodeTable& bf16_decode_table(const FormatInfo& format) {
  static const std::vector<Bf16DecodeTable> tables = [] {
    std::vector<Bf16DecodeTable> all(all_formats().size());
    for (size_t f = 0; f < all.size(); ++f)
      for (int c = 0; c < 256; ++c) {
        const uint32_t bits = f32_bits(all_formats()[f].decode_table[c]);
        all[f].bits[c] = uint16_t(bits >> 16);
        all[f].exact = all[f].exact && (bits & 0xffffu) == 0;
      }
    return all;
  }();
  return tables[size_t(&format - all_formats().data())];
}

void decode_serial(const FormatInfo& format, const uint8_t* in, float* out, size_t n) {
  const Bf16DecodeTable& bf16 = bf16_decode_table(format);
  if (bf16.exact && avx512::allowed()) return avx512::decode_bf16_table(in, out, n, bf16.bits.data());
  simd::decode_table(in, out, n, format.decode_table.data());
}

bool has_math_encoder(FormatId id) {
  return id == FormatId::hif8 || id == FormatId::fp8_e4m3fn || id == FormatId::fp8_e5m2 || id == FormatId::int8;
}

// Chosen by measurement (docs/BENCHMARKS.md): for HiF8 the in-register tables beat the gathers of the
// prefix table, which beat the integer arithmetic; FP8 and INT8 arithmetic is already memory-bound.
EncodePath fastest_path(const FormatInfo& format) {
  if (is_hif8(format.id)) return avx512::allowed() ? EncodePath::vperm : EncodePath::lut;
  if (has_math_encoder(format.id)) return EncodePath::math;
  return EncodePath::scalar;
}

void encode_serial(const FormatInfo& format, const float* in, uint8_t* out, size_t n, Overflow overflow,
                   EncodePath path) {
  const bool saturate = overflow == Overflow::saturate;
  if (path == EncodePath::automatic) path = fastest_path(format);
  if (!has_encode_path(format, path))
    throw Error("no " + std::string(encode_path_name(path)) + " encoder for format " + std::string(format.name));
  switch (path) {
    case EncodePath::lut:
      return simd::encode_prefix_lut(in, out, n, prefix_lut(format, overflow));
    case EncodePath::vperm:
      return avx512::encode_hif8(in, out, n, saturate, format.id == FormatId::hif8_rank);
    case EncodePath::math:
      switch (format.id) {
        case FormatId::hif8: return simd::encode_hif8_math(in, out, n, saturate);
        case FormatId::fp8_e4m3fn: return simd::encode_e4m3fn_math(in, out, n, saturate);
        case FormatId::fp8_e5m2: return simd::encode_e5m2_math(in, out, n, saturate);
        case FormatId::int8: return simd::encode_int8_math(in, out, n);
        case FormatId::hif8_rank: break;
      }
      break;
    case EncodePath::scalar:
    case EncodePath::automatic:
      break;
  }
  const FormatInfo::EncodeFn fn = saturate ? format.encode_saturate : format.encode_plain;
  for (size_t i = 0; i < n; ++i) out[i] = fn(in[i]);
}

void widen(const void* in, DType dtype, size_t offset, float* out, size_t n) {
  switch (dtype) {
    case DType::f32: std::copy_n(static_cast<const float*>(in) + offset, n, out); return;
    case DType::bf16: simd::bf16_to_f32(static_cast<const uint16_t*>(in) + offset, out, n); return;
    case DType::f16: simd::f16_to_f32(static_cast<const uint16_t*>(in) + offset, out, n); return;
  }
}

}  // namespace

size_t dtype_size(DType dtype) { return dtype == DType::f32 ? 4 : 2; }

std::string_view dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32: return "f32";
    case DType::bf16: return "bf16";
    case DType::f16: return "f16";
  }
  return "?";
}

DType parse_dtype(std::string_view name) {
  if (name == "f32" || name == "float32" || name == "F32") return DType::f32;
  if (name == "bf16" || name == "bfloat16" || name == "BF16") return DType::bf16;
  if (name == "f16" || name == "float16" || name == "F16") return DType::f16;
  throw Error("unknown dtype '" + std::string(name) + "' (known: f32, bf16, f16)");
}

std::string_view encode_path_name(EncodePath path) {
  switch (path) {
    case EncodePath::automatic: return "auto";
    case EncodePath::scalar: return "scalar";
    case EncodePath::lut: return "lut";
    case EncodePath::math: return "math";
    case EncodePath::vperm: return "vperm";
  }
  return "?";
}

bool has_encode_path(const FormatInfo& format, EncodePath path) {
  switch (path) {
    case EncodePath::automatic:
    case EncodePath::scalar: return true;
    case EncodePath::lut: return prefix_lut(format, Overflow::plain) != nullptr;
    case EncodePath::math: return has_math_encoder(format.id);
    case EncodePath::vperm: return is_hif8(format.id) && avx512::allowed();
  }
  return false;
}

void widen(const void* in, DType in_dtype, float* out, size_t n, int threads) {
  parallel_for(n, threads, [&](size_t begin, size_t end) { widen(in, in_dtype, begin, out + begin, end - begin); });
}

void narrow(const float* in, void* out, DType out_dtype, size_t n, int threads) {
  parallel_for(n, threads, [&](size_t begin, size_t end) {
    switch (out_dtype) {
      case DType::f32: std::copy(in + begin, in + end, static_cast<float*>(out) + begin); return;
      case DType::bf16: simd::f32_to_bf16(in + begin, static_cast<uint16_t*>(out) + begin, end - begin); return;
      case DType::f16:
        for (size_t i = begin; i < end; ++i) static_cast<uint16_t*>(out)[i] = f32_to_f16(in[i]);
        return;
    }
  });
}

void encode(const FormatInfo& format, const float* in, uint8_t* out, size_t n, const KernelOptions& options) {
  if (!has_encode_path(format, options.path))
    throw Error("no " + std::string(encode_path_name(options.path)) + " encoder for format " + std::string(format.name));
  parallel_for(n, options.threads, [&](size_t begin, size_t end) {
    encode_serial(format, in + begin, out + begin, end - begin, options.overflow, options.path);
  });
}

void encode(const FormatInfo& format, const void* in, DType in_dtype, uint8_t* out, size_t n,
            const KernelOptions& options) {
  if (in_dtype == DType::f32) return encode(format, static_cast<const float*>(in), out, n, options);
  parallel_for(n, options.threads, [&](size_t begin, size_t end) {
    float tile[kTile];
    for (size_t i = begin; i < end; i += kTile) {
      const size_t len = std::min(kTile, end - i);
      widen(in, in_dtype, i, tile, len);
      encode_serial(format, tile, out + i, len, options.overflow, options.path);
    }
  });
}

void decode(const FormatInfo& format, const uint8_t* in, float* out, size_t n, int threads) {
  parallel_for(n, threads, [&](size_t begin, size_t end) {
    decode_serial(format, in + begin, out + begin, end - begin);
  });
}

void decode(const FormatInfo& format, const uint8_t* in, void* out, DType out_dtype, size_t n, int threads) {
  if (out_dtype == DType::f32) return decode(format, in, static_cast<float*>(out), n, threads);
  // Every value of every registered format is exactly a bfloat16 and a float16, so narrowing is exact.
  auto* dst = static_cast<uint16_t*>(out);
  parallel_for(n, threads, [&](size_t begin, size_t end) {
    float tile[kTile];
    for (size_t i = begin; i < end; i += kTile) {
      const size_t len = std::min(kTile, end - i);
      decode_serial(format, in + i, tile, len);
      if (out_dtype == DType::bf16) simd::f32_to_bf16(tile, dst + i, len);
      else
        for (size_t j = 0; j < len; ++j) dst[i + j] = f32_to_f16(tile[j]);
    }
  });
}

namespace {

void check_scale(float scale) {
  if (!(scale > 0.0f) || !std::isfinite(scale))
    throw Error("quantization scale must be finite and > 0, got " + std::to_string(scale));
}

// Both steps of each direction run tile by tile, so the second pass reads L1, not memory.
void encode_scaled_serial(const FormatInfo& format, const float* in, uint8_t* codes, size_t n, float scale,
                          const KernelOptions& options) {
  float tile[kTile];
  for (size_t i = 0; i < n; i += kTile) {
    const size_t len = std::min(kTile, n - i);
    simd::divide(in + i, tile, len, scale);
    encode_serial(format, tile, codes + i, len, options.overflow, options.path);
  }
}

void decode_scaled_serial(const FormatInfo& format, const uint8_t* codes, float* out, size_t n, float scale) {
  for (size_t i = 0; i < n; i += kTile) {
    const size_t len = std::min(kTile, n - i);
    decode_serial(format, codes + i, out + i, len);
    simd::multiply(out + i, out + i, len, scale);
  }
}

}  // namespace

void encode_scaled(const FormatInfo& format, const float* in, uint8_t* codes, size_t n, float scale,
                   const KernelOptions& options) {
  check_scale(scale);
  parallel_for(n, options.threads, [&](size_t begin, size_t end) {
    encode_scaled_serial(format, in + begin, codes + begin, end - begin, scale, options);
  });
}

void decode_scaled(const FormatInfo& format, const uint8_t* codes, float* out, size_t n, float scale, int threads) {
  check_scale(scale);
  parallel_for(n, threads, [&](size_t begin, size_t end) {
    decode_scaled_serial(format, codes + begin, out + begin, end - begin, scale);
  });
}

void fake_quant(const FormatInfo& format, const float* in, float* out, size_t n, float scale,
                const KernelOptions& options) {
  check_scale(scale);
  parallel_for(n, options.threads, [&](size_t begin, size_t end) {
    uint8_t codes[kTile];
    for (size_t i = begin; i < end; i += kTile) {
      const size_t len = std::min(kTile, end - i);
      encode_scaled_serial(format, in + i, codes, len, scale, options);
      decode_scaled_serial(format, codes, out + i, len, scale);
    }
  });
}

AmaxResult amax(const float* in, size_t n, int threads) {
  std::mutex lock;
  uint32_t max_bits = 0;
  parallel_for(n, threads, [&](size_t begin, size_t end) {
    const uint32_t local = simd::max_abs_bits(in + begin, end - begin);
    const std::lock_guard<std::mutex> guard(lock);
    max_bits = std::max(max_bits, local);
  });
  AmaxResult result;
  if (max_bits < kF32InfBits) {
    result.amax = f32_from_bits(max_bits);
    return result;
  }
  // Rare path: some element is NaN/Inf. Report where, and the max over the finite ones.
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(in[i])) {
      if (result.first_nonfinite == AmaxResult::npos) result.first_nonfinite = i;
    } else {
      result.amax = std::max(result.amax, std::fabs(in[i]));
    }
  }
  return result;
}

float dot(const float* a, const float* b, size_t n) { return simd::dot(a, b, n); }

namespace {
int code_kind(FormatId id) {
  switch (id) {
    case FormatId::fp8_e4m3fn: return 0;
    case FormatId::fp8_e5m2: return 1;
    case FormatId::int8: return 2;
    default: return 3;
  }
}
}  // namespace

// A sign-magnitude float8 format whose every value is a float16 (HiF8, E4M3FN, E5M2): the low and
// high bytes of the float16 of each magnitude (codes 0..127), and whether code 0x80 is NaN (HiF8)
// rather than -0. E4M3FN's NaN magnitude (127) holds the float16 NaN.
struct Float16Magnitudes {
  std::array<uint8_t, 128> lo{}, hi{};
  bool nan_at_0x80 = false;
  explicit Float16Magnitudes(const FormatInfo& f) : nan_at_0x80(std::isnan(f.decode(0x80))) {
    for (int v = 0; v < 128; ++v) {
      const float value = f.decode(uint8_t(v));
      const uint16_t h = std::isnan(value) ? uint16_t(0x7E00) : f32_to_f16(value);
      lo[size_t(v)] = uint8_t(h & 0xff), hi[size_t(v)] = uint8_t(h >> 8);
    }
  }
};

const Float16Magnitudes* float16_magnitudes(FormatId id) {
  static const Float16Magnitudes hif8(format_info(FormatId::hif8)), e4m3(format_info(FormatId::fp8_e4m3fn)),
      e5m2(format_info(FormatId::fp8_e5m2));
  switch (id) {
    case FormatId::hif8: return &hif8;
    case FormatId::fp8_e4m3fn: return &e4m3;
    case FormatId::fp8_e5m2: return &e5m2;
    default: return nullptr;
  }
}

// Per machine: byte permutes (AVX-512 VBMI) for the sign-magnitude formats; else HiF8 through the bf16
// table (AVX-512BW) or Highway's shuffles, FP8 through float16 bit tricks, INT8 by conversion.
float dot_codes(const FormatInfo& format, const float* x, const uint8_t* codes, size_t n) {
  const bool vbmi = avx512::vbmi_available();  // not cached: tests switch targets
  const Float16Magnitudes* f16 = float16_magnitudes(format.id);
  if (vbmi && f16)
    return avx512::dot_f16_magnitudes(x, codes, n, f16->lo.data(), f16->hi.data(), f16->nan_at_0x80,
                                      format.decode_table.data());
  if (format.id == FormatId::hif8) {
    const Bf16DecodeTable& bf16 = bf16_decode_table(format);
    if (bf16.exact && avx512::allowed()) return avx512::dot_bf16_table(x, codes, n, bf16.bits.data());
    return simd::dot_hif8(x, codes, n, f16->lo.data(), f16->hi.data(), format.decode_table.data());
  }
  return simd::dot_codes(x, codes, n, code_kind(format.id), format.decode_table.data());
}

int32_t dot_i8(const int8_t* a, const int8_t* b, size_t n) {
  if (avx512::vnni_available()) return avx512::dot_i8(a, b, n);
  if (avx2::dot_i8_available()) return avx2::dot_i8(a, b, n);
  int32_t total = 0;
  for (size_t i = 0; i < n; ++i) total += int32_t(a[i]) * b[i];
  return total;
}

float dot_bf16(const float* x, const uint16_t* w, size_t n) { return simd::dot_bf16(x, w, n); }
void exp_scaled(const float* in, float* out, size_t n, float shift, float scale) { simd::exp_scaled(in, out, n, shift, scale); }

size_t panel_width() { return simd::panel_width(); }
void panel_tile(const float* x, size_t x_stride, size_t tokens, const float* panel, size_t n, float* y, size_t y_stride,
                size_t valid, bool accumulate) {
  if (tokens < 1 || tokens > 6 || valid > simd::panel_width()) throw Error("panel_tile: 1..6 tokens, valid <= panel_width()");
  simd::panel_tile(x, x_stride, tokens, panel, n, y, y_stride, valid, accumulate);
}

double measure_fma_peak(int threads) {
  const int t = resolve_threads(threads);
  constexpr size_t kIterations = size_t{20} << 20;
  std::vector<double> flops(static_cast<size_t>(t), 0.0);
  const auto start = std::chrono::steady_clock::now();
  parallel_for(size_t(t), t, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      size_t per = 0;
      simd::fma_loop(kIterations, &per);  // called through run-time dispatch: not optimised away
      flops[i] = double(per) * double(kIterations);
    }
  }, 1);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double total = 0;
  for (double f : flops) total += f;
  return total / s;
}

void ErrorSums::add(const ErrorSums& o) {
  sum_x2 += o.sum_x2, sum_e2 += o.sum_e2, max_abs_error = std::max(max_abs_error, o.max_abs_error);
  nonzero += o.nonzero, flushed += o.flushed, saturated += o.saturated;
}

ErrorSums error_sums(const FormatInfo& format, const float* x, const float* deq, const uint8_t* codes, size_t n,
                     int threads) {
  // The two codes of largest finite magnitude (+-max_finite; INT8's -128 is never produced).
  std::array<uint8_t, 2> max_codes{};
  for (int c = 0, found = 0; c < 256 && found < 2; ++c)
    if (std::fabs(format.decode(uint8_t(c))) == format.max_finite) max_codes[found++] = uint8_t(c);
  std::mutex lock;
  ErrorSums total;
  parallel_for(n, threads, [&](size_t begin, size_t end) {
    const ErrorSums part = simd::error_stats(x + begin, deq + begin, codes + begin, end - begin, max_codes[0], max_codes[1]);
    const std::lock_guard<std::mutex> guard(lock);
    total.add(part);
  });
  return total;
}

}  // namespace hifp8::kernel
