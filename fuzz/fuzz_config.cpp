// libFuzzer harness: any bytes as config.json must give a ModelConfig and a quantization layout, or a
// hifp8::Error naming the problem — never another exception (an "internal error" at the CLI), a crash
// or undefined behaviour. Seeds: fuzz/corpus/config (real configs).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "hifp8/error.h"
#include "hifp8/io/checkpoint_inspect.h"
#include "hifp8/model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  try {
    hifp8::model::ModelConfig::from_json(j);
  } catch (const hifp8::Error&) {
  }
  try {
    hifp8::io::read_quantization_layout(j);
  } catch (const hifp8::Error&) {
  }
  return 0;
}
