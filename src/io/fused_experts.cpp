#include "io/fused_experts.h"

#include <cmath>
#include <cstring>

#include "hifp8/error.h"
#include "hifp8/kernel/array_ops.h"

namespace hifp8::io {
namespace {

uint16_t to_bf16(float f) {  // exact for the values written here (checked by the caller's source)
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return static_cast<uint16_t>(bits >> 16);
}

// A fused tensor read as float32 [experts][rows][cols], from a float dtype or from MXFP4 blocks.
struct FusedTensor {
  std::vector<float> values;
  int64_t experts = 0, rows = 0, cols = 0;
  TensorDType source = TensorDType::BF16;
  float at(int64_t e, int64_t r, int64_t c) const { return values[size_t((e * rows + r) * cols + c)]; }
};

const TensorInfo& require(const Checkpoint& ck, const std::string& name, size_t dims) {
  const Checkpoint::Entry* e = ck.find(name);
  if (!e) throw Error("missing tensor '" + name + "'");
  if (e->info->shape.size() != dims) throw Error("tensor '" + name + "' is not " + std::to_string(dims) + "-D");
  return *e->info;
}

std::vector<float> as_floats(const Checkpoint& ck, const std::string& name) {
  const Checkpoint::Entry* e = ck.find(name);
  if (!is_float_wide(e->info->dtype)) throw Error("tensor '" + name + "' must be F32, BF16 or F16");
  std::vector<float> out(e->info->numel());
  kernel::widen(ck.bytes(*e).data(), kernel_dtype(e->info->dtype), out.data(), out.size(), 1);
  return out;
}

// gate_up_proj / down_proj as float [experts, in, out] (the parameter's layout), or from
// <name>_blocks/_scales as [experts, out, in] (the packed layout): `transposed` says which.
FusedTensor read_fused(const Checkpoint& ck, const std::string& name, bool& transposed) {
  FusedTensor t;
  if (ck.find(name)) {
    const TensorInfo& info = require(ck, name, 3);
    t.values = as_floats(ck, name);
    t.experts = info.shape[0], t.rows = info.shape[1], t.cols = info.shape[2];
    t.source = info.dtype;
    transposed = true;
    return t;
  }
  const TensorInfo& blocks = require(ck, name + "_blocks", 4);
  const TensorInfo& scales = require(ck, name + "_scales", 3);
  if (blocks.dtype != TensorDType::U8 || scales.dtype != TensorDType::U8 || blocks.shape[3] != 16 ||
      scales.shape != std::vector<int64_t>{blocks.shape[0], blocks.shape[1], blocks.shape[2]})
    throw Error("tensors '" + name + "_blocks' [E, rows, groups, 16] and '" + name + "_scales' [E, rows, groups] must be U8 MXFP4");
  t.experts = blocks.shape[0], t.rows = blocks.shape[1], t.cols = blocks.shape[2] * 32;
  t.values.resize(size_t(t.experts * t.rows * t.cols));
  const uint8_t* b = ck.bytes(*ck.find(name + "_blocks")).data();
  const uint8_t* s = ck.bytes(*ck.find(name + "_scales")).data();
  for (size_t g = 0; g < size_t(t.experts * t.rows * blocks.shape[2]); ++g)
    for (size_t k = 0; k < 16; ++k) {
      t.values[g * 32 + 2 * k] = mxfp4_value(b[g * 16 + k] & 0xF, s[g]);
      t.values[g * 32 + 2 * k + 1] = mxfp4_value(b[g * 16 + k] >> 4, s[g]);
    }
  transposed = false;
  return t;
}

class TensorBuilder {
 public:
  // Appends a [rows, cols] (cols 0: [rows]) tensor of `dtype` (F32 or BF16) whose element (r, c) is value(r, c).
  template <typename F>
  void add(const std::string& name, TensorDType dtype, int64_t rows, int64_t cols, F value) {
    TensorInfo info{name, dtype, cols > 0 ? std::vector<int64_t>{rows, cols} : std::vector<int64_t>{rows}, data_.size(), 0};
    const int64_t width = std::max<int64_t>(cols, 1);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < width; ++c) {
        const float v = value(r, c);
        if (dtype == TensorDType::F32) {
          const auto* p = reinterpret_cast<const uint8_t*>(&v);
          data_.insert(data_.end(), p, p + 4);
        } else {
          const uint16_t h = to_bf16(v);
          data_.push_back(uint8_t(h & 0xFF)), data_.push_back(uint8_t(h >> 8));
        }
      }
    info.end = data_.size();
    tensors_.push_back(std::move(info));
  }
  SafetensorsFile finish(const std::string& label) { return SafetensorsFile::in_memory(label, std::move(tensors_), std::move(data_)); }

 private:
  std::vector<TensorInfo> tensors_;
  std::vector<uint8_t> data_;
};

}  // namespace

float mxfp4_value(uint8_t code, uint8_t scale) {
  static constexpr float kE2M1[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  const float v = std::ldexp(kE2M1[code & 7], int(scale) - 127);
  return (code & 8) ? -v : v;
}

std::optional<SplitExperts> split_fused_experts(const Checkpoint& ck) {
  std::vector<std::string> prefixes;  // model.layers.N.mlp.experts.
  for (const Checkpoint::Entry& e : ck.tensors()) {
    const std::string& n = e.info->name;
    for (const char* suffix : {".experts.gate_up_proj", ".experts.gate_up_proj_blocks"})
      if (n.ends_with(suffix)) prefixes.push_back(n.substr(0, n.size() - std::strlen(suffix)) + ".experts.");
  }
  if (prefixes.empty()) return std::nullopt;
  std::vector<std::string> replaced;
  bool from_mxfp4 = false;
  TensorBuilder builder;
  for (const std::string& p : prefixes) {
    bool gu_t = false, down_t = false;
    const FusedTensor gate_up = read_fused(ck, p + "gate_up_proj", gu_t);
    const FusedTensor down = read_fused(ck, p + "down_proj", down_t);
    const bool mxfp4 = !ck.find(p + "gate_up_proj");
    from_mxfp4 = from_mxfp4 || mxfp4;
    // BF16 holds MXFP4 values and BF16 weights exactly; anything else (and the biases) keeps F32.
    const TensorDType weights = mxfp4 || gate_up.source == TensorDType::BF16 ? TensorDType::BF16 : TensorDType::F32;
    const TensorDType biases = ck.find(p + "gate_up_proj_bias")->info->dtype == TensorDType::BF16 ? TensorDType::BF16 : TensorDType::F32;
    const int64_t E = gate_up.experts;
    const int64_t hidden = gu_t ? gate_up.rows : gate_up.cols, two_i = gu_t ? gate_up.cols : gate_up.rows, I = two_i / 2;
    const int64_t down_in = down_t ? down.rows : down.cols, down_out = down_t ? down.cols : down.rows;
    if (two_i % 2 != 0 || down.experts != E || down_in != I || down_out != hidden)
      throw Error("tensors '" + p + "gate_up_proj' and '" + p + "down_proj' do not describe " + std::to_string(E) +
                  " experts of [hidden, 2 x intermediate] and [intermediate, hidden]");
    const std::vector<float> gu_bias = as_floats(ck, p + "gate_up_proj_bias"), down_bias = as_floats(ck, p + "down_proj_bias");
    if (int64_t(gu_bias.size()) != E * two_i || int64_t(down_bias.size()) != E * hidden)
      throw Error("tensors '" + p + "gate_up_proj_bias' / 'down_proj_bias' do not match the expert weights");
    // W[out][in] of each linear; gate is the even columns of gate_up, up the odd ones.
    auto gu = [&](int64_t e, int64_t o, int64_t i) { return gu_t ? gate_up.at(e, i, o) : gate_up.at(e, o, i); };
    auto dn = [&](int64_t e, int64_t o, int64_t i) { return down_t ? down.at(e, i, o) : down.at(e, o, i); };
    for (int64_t e = 0; e < E; ++e) {
      const std::string x = p + std::to_string(e) + ".";
      builder.add(x + "gate_proj.weight", weights, I, hidden, [&](int64_t o, int64_t i) { return gu(e, 2 * o, i); });
      builder.add(x + "gate_proj.bias", biases, I, 0, [&](int64_t o, int64_t) { return gu_bias[size_t(e * two_i + 2 * o)]; });
      builder.add(x + "up_proj.weight", weights, I, hidden, [&](int64_t o, int64_t i) { return gu(e, 2 * o + 1, i); });
      builder.add(x + "up_proj.bias", biases, I, 0, [&](int64_t o, int64_t) { return gu_bias[size_t(e * two_i + 2 * o + 1)]; });
      builder.add(x + "down_proj.weight", weights, hidden, I, [&](int64_t o, int64_t i) { return dn(e, o, i); });
      builder.add(x + "down_proj.bias", biases, hidden, 0, [&](int64_t o, int64_t) { return down_bias[size_t(e * hidden + o)]; });
    }
    for (const char* name : {"gate_up_proj", "down_proj"}) {
      for (const char* suffix : {"", "_blocks", "_scales"})
        if (ck.find(p + name + suffix)) replaced.push_back(p + name + suffix);
      replaced.push_back(p + name + "_bias");
    }
  }
  return SplitExperts{builder.finish(ck.dir().string() + " (experts split per expert)"), std::move(replaced), from_mxfp4};
}

}  // namespace hifp8::io
