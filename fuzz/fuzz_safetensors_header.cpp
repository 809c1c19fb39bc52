// libFuzzer harness: any byte string as a whole safetensors file must parse or throw hifp8::Error —
// never crash, hang, or read out of bounds. Build and run with scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>

#include "hifp8/error.h"
#include "hifp8/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const hifp8::io::SafetensorsHeader header = hifp8::io::parse_safetensors_header({data, size}, size, "fuzz");
    // Touch every accepted tensor's bytes, so an offset bug shows up as an out-of-bounds read.
    volatile uint8_t sink = 0;
    for (const auto& t : header.tensors)
      if (t.nbytes()) sink = sink ^ data[header.data_start + t.begin] ^ data[header.data_start + t.end - 1];
  } catch (const hifp8::Error&) {
  }
  return 0;
}
