// libFuzzer harness, structure-aware: the input is a tokenizer.json, a NUL byte, then a text. The
// tokenizer loads or throws hifp8::Error (never another exception); a loaded one encodes the text
// (or refuses it with an Error), and decoding the ids gives valid UTF-8. The custom mutator mutates
// the JSON as JSON (values replaced, keys dropped, arrays cut), so that the real tokenizer.json
// seeds in fuzz/corpus/tokenizer_json keep loading far enough to reach deep code.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "hifp8/error.h"
#include "hifp8/model/tokenizer.h"
#include "hifp8/model/utf8.h"

#ifdef HIFP8_LIBFUZZER
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

// A random node of j (depth-first, reservoir choice).
nlohmann::json* pick(nlohmann::json& j, std::mt19937& rng, size_t& seen) {
  nlohmann::json* chosen = nullptr;
  if (std::uniform_int_distribution<size_t>(0, seen++)(rng) == 0) chosen = &j;
  if (j.is_structured())
    for (auto& child : j)
      if (nlohmann::json* c = pick(child, rng, seen)) chosen = c;
  return chosen;
}

void mutate_json(nlohmann::json& j, std::mt19937& rng) {
  size_t seen = 0;
  nlohmann::json* node = pick(j, rng, seen);
  switch (rng() % 7) {
    case 0: *node = nullptr; break;
    case 1: *node = int64_t(rng()) - int64_t(1) * (1LL << 31); break;
    case 2: *node = std::string(rng() % 4, char('a' + rng() % 26)); break;
    case 3: *node = nlohmann::json::array(); break;
    case 4:
      if (node->is_object() && !node->empty()) node->erase(std::next(node->begin(), long(rng() % node->size())));
      break;
    case 5:
      if (node->is_array() && !node->empty()) node->erase(node->begin() + long(rng() % node->size()));
      break;
    case 6:
      if (node->is_string()) *node = node->get<std::string>() + node->get<std::string>();
      break;
  }
}

}  // namespace

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, unsigned int seed) {
  const uint8_t* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
  std::mt19937 rng(seed);
  if (nul && rng() % 4 != 0) {
    nlohmann::json j = nlohmann::json::parse(static_cast<const uint8_t*>(data), nul, nullptr, false);
    if (!j.is_discarded()) {
      mutate_json(j, rng);
      const std::string text(reinterpret_cast<const char*>(nul), size_t(data + size - nul));  // NUL + text
      const std::string out = j.dump() + text;
      if (out.size() <= max_size) {
        std::memcpy(data, out.data(), out.size());
        return out.size();
      }
    }
  }
  return LLVMFuzzerMutate(data, size, max_size);
}
#endif  // HIFP8_LIBFUZZER

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const uint8_t* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
  if (!nul) return 0;
  const std::string_view json(reinterpret_cast<const char*>(data), size_t(nul - data));
  const std::string_view text(reinterpret_cast<const char*>(nul + 1), size_t(data + size - nul - 1));
  std::unique_ptr<hifp8::model::Tokenizer> tok;
  try {
    tok = hifp8::model::Tokenizer::from_tokenizer_json(json, "fuzz/tokenizer.json");
  } catch (const hifp8::Error&) {
    return 0;
  }
  try {
    const std::vector<int32_t> ids = tok->encode(text);
    if (!hifp8::model::is_valid_utf8(tok->decode(ids, false))) __builtin_trap();
    if (!hifp8::model::is_valid_utf8(tok->decode(ids, true))) __builtin_trap();
  } catch (const hifp8::Error&) {
  }
  return 0;
}
