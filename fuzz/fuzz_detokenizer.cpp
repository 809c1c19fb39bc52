// libFuzzer harness: the input is a token-id sequence (2 bytes an id) for two real tokenizers (GPT-2's
// byte-level BPE and stories260K's SentencePiece with byte fallback, from ../shared). Streaming it
// through model::Detokenizer must give valid UTF-8 in every piece, and the pieces must add up to
// tokenizer.decode(ids), the reference decoders' text.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hifp8/model/detokenizer.h"
#include "hifp8/model/tokenizer.h"
#include "hifp8/model/utf8.h"

namespace {

const std::vector<std::unique_ptr<hifp8::model::Tokenizer>>& tokenizers() {
  static const auto all = [] {
    std::vector<std::unique_ptr<hifp8::model::Tokenizer>> t;
    t.push_back(hifp8::model::Tokenizer::load(HIFP8_SHARED_DIR "/tokenizers/gpt2-bpe"));
    t.push_back(hifp8::model::Tokenizer::load_sentencepiece(HIFP8_SHARED_DIR "/models/stories260K/tokenizer.model"));
    return t;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (const auto& tok : tokenizers()) {
    std::vector<int32_t> ids;
    for (size_t i = 0; i + 1 < size; i += 2) ids.push_back(int32_t((data[i] | data[i + 1] << 8) % tok->vocab_size()));
    hifp8::model::Detokenizer detok(*tok);
    std::string streamed;
    for (int32_t id : ids) {
      const std::string piece = detok.push(id);
      if (!hifp8::model::is_valid_utf8(piece)) __builtin_trap();
      streamed += piece;
    }
    streamed += detok.finish();
    // The one documented exception: a run of 16+ tokens of invalid bytes is let out early.
    if (ids.size() < 16 && streamed != tok->decode(ids, true)) __builtin_trap();
    if (!hifp8::model::is_valid_utf8(streamed)) __builtin_trap();
  }
  return 0;
}
