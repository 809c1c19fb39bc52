#pragma once
// Incremental detokenization for streaming: text goes out in whole characters, never a character that
// the next token could still change. A character spelled over several tokens (byte-level BPE, byte
// fallback) waits until it is complete; bytes that can never form a character come out as U+FFFD,
// as the reference decoders render them. What push() and finish() return, concatenated, is valid
// UTF-8 and equals tokenizer.decode(ids) (a stream cut inside a character ends with U+FFFD there;
// byte-fallback runs are held whole, up to 64 tokens).
#include <cstdint>
#include <string>
#include <vector>

#include "hifp8/model/tokenizer.h"

namespace hifp8::model {

class Detokenizer {
 public:
  // `context`: ids before the first pushed one (the prompt's end), decoded only so that the first new
  // token's leading space is rendered as in the middle of a text (SentencePiece drops it at the start).
  Detokenizer(const Tokenizer& tokenizer, std::span<const int32_t> context = {}, bool skip_special = true);

  std::string push(int32_t id);  // the text that became final with this token (often empty)
  std::string finish();          // whatever is still held back, incomplete characters as U+FFFD

 private:
  std::string decode_from(size_t begin, size_t end) const;

  const Tokenizer& tokenizer_;
  bool skip_special_;
  std::vector<int32_t> ids_;
  size_t prefix_ = 0;  // decoding starts here: one settled step back, for context
  size_t read_ = 0;    // ids before this are emitted
  size_t byte_run_ = 0;  // byte-fallback tokens at the end of ids_
};

}  // namespace hifp8::model
