#include "support/rewrite_checkpoint.h"

#include "hifp8/io/checkpoint.h"
#include "hifp8/io/checkpoint_inspect.h"
#include "hifp8/io/safetensors.h"
#include "hifp8/kernel/array_ops.h"

namespace hifp8::test {

std::filesystem::path rewrite_checkpoint(const std::filesystem::path& in, const std::filesystem::path& out, io::TensorDType dtype,
                                         const TensorEdit& edit) {
  const io::Checkpoint ckpt = io::Checkpoint::open(in);
  std::filesystem::create_directories(out);
  std::filesystem::copy_file(in / "config.json", out / "config.json", std::filesystem::copy_options::overwrite_existing);
  std::vector<io::TensorSpec> specs;
  for (const auto& e : ckpt.tensors()) specs.push_back({e.info->name, dtype, e.info->shape});
  io::SafetensorsWriter w(out / "model.safetensors", specs);
  for (const auto& e : ckpt.tensors()) {
    std::vector<float> f = io::dequantize_tensor(ckpt, e.info->name);
    if (edit) edit(e.info->name, f, e.info->shape);
    if (dtype == io::TensorDType::F32) {
      w.write({reinterpret_cast<const uint8_t*>(f.data()), f.size() * 4});
    } else {
      std::vector<uint8_t> b(f.size() * 2);
      kernel::narrow(f.data(), b.data(), kernel::DType::bf16, f.size());
      w.write(b);
    }
  }
  w.finish();
  return out;
}

}  // namespace hifp8::test
