#include "hifp8/model/detokenizer.h"

#include <algorithm>

#include "hifp8/model/utf8.h"
#include "tokenizer_json_pipeline.h"

namespace hifp8::model {
namespace {

// Context tokens kept before the first new one (enough for any merge of spaces or bytes at the seam).
constexpr size_t kContextTokens = 6;
// A run of tokens whose text still ends in U+FFFD is let out once it is this long: a character has at
// most 4 bytes, so such a run is invalid bytes, not a character in the making (bounds the work).
constexpr size_t kMaxHeldTokens = 16;
// Tokens that add no text widen the decoded window; past this many it restarts (bounds the work).
constexpr size_t kMaxWindowTokens = 64;
// A run of byte-fallback tokens is held whole, up to this many (see push()).
constexpr size_t kMaxByteRun = 64;

bool ends_with_replacement(const std::string& s) {
  return s.size() >= kReplacementCharacter.size() &&
         s.compare(s.size() - kReplacementCharacter.size(), kReplacementCharacter.size(), kReplacementCharacter) == 0;
}

}  // namespace

Detokenizer::Detokenizer(const Tokenizer& tokenizer, std::span<const int32_t> context, bool skip_special)
    : tokenizer_(tokenizer), skip_special_(skip_special) {
  const size_t n = std::min(context.size(), kContextTokens);
  ids_.assign(context.end() - long(n), context.end());
  // A context that ends inside a character would swallow the first new bytes: decode without it.
  if (ends_with_replacement(decode_from(0, ids_.size()))) ids_.clear();
  read_ = ids_.size();
}

std::string Detokenizer::decode_from(size_t begin, size_t end) const {
  return tokenizer_.decode(std::span<const int32_t>(ids_).subspan(begin, end - begin), skip_special_);
}

std::string Detokenizer::push(int32_t id) {
  ids_.push_back(id);
  // The ByteFallback decoders render a run of <0xHH> tokens as UTF-8 if the whole run is valid, else
  // every byte of it as U+FFFD: a later byte can rewrite the run's earlier text ("\x1b" becomes "�"
  // when 0x80 follows). So the run is held until a token of another kind (or finish()) ends it; a run
  // longer than kMaxByteRun is let out (a model emitting that many bytes writes valid text in
  // practice; the cap bounds the work).
  byte_run_ = tokenizer_json::byte_fallback_value(tokenizer_.piece(id)) ? byte_run_ + 1 : 0;
  if (byte_run_ > 0 && byte_run_ < kMaxByteRun) return {};
  const std::string settled = decode_from(prefix_, read_);
  const std::string text = decode_from(prefix_, ids_.size());
  if (text == settled) {  // a token that adds nothing (a skipped special token) settles at once
    read_ = ids_.size();
    if (read_ - prefix_ > kMaxWindowTokens) prefix_ = read_;
    return {};
  }
  if (text.size() <= settled.size() || text.compare(0, settled.size(), settled) != 0) return {};
  if (ends_with_replacement(text) && ids_.size() - read_ < kMaxHeldTokens) return {};
  prefix_ = read_;
  read_ = ids_.size();
  return text.substr(settled.size());
}

std::string Detokenizer::finish() {
  const std::string settled = decode_from(prefix_, read_);
  const std::string text = decode_from(prefix_, ids_.size());
  prefix_ = read_ = ids_.size();
  // The settled text is normally a prefix; if a decoder rewrote it, send what differs after the longest
  // common prefix that ends on a character boundary (still valid UTF-8, nothing sent twice).
  size_t common = 0;
  while (common < std::min(settled.size(), text.size()) && settled[common] == text[common]) ++common;
  while (common > 0 && common < text.size() && (static_cast<unsigned char>(text[common]) & 0xC0) == 0x80) --common;
  return common >= settled.size() ? text.substr(common) : std::string();
}

}  // namespace hifp8::model
