// Fake-quantized checkpoints: the original layout and dtype with every quantized weight replaced by
// dequant(quant(w)) and no quantization_config, so any engine runs them.
#include "io/export/writers.h"

namespace hifp8::io {
namespace {

class FakeQuantWriter : public ExportWriter {
 public:
  bool writes_codes() const override { return false; }
  TensorDType weight_dtype(TensorDType original) const override { return original; }
  std::string scale_suffix() const override { return ""; }
  void check_granularity(const Granularity&) const override {}
  nlohmann::json quantization_config(const ExportContext&) const override { return nullptr; }
};

}  // namespace

std::unique_ptr<ExportWriter> make_fake_quant_writer() { return std::make_unique<FakeQuantWriter>(); }

}  // namespace hifp8::io
