#pragma once
// The parts of a Hugging Face tokenizer.json around its model, built from the file's own description
// (decided by the file, not by the model family): the normalizer, the pre-tokenizer and the decoder.
// An unknown component is an Error naming it, never a silently different encoding.
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hifp8::model::tokenizer_json {

// Text -> normalized text (NFC, Replace, Prepend, ...); identity when the file has none.
using Normalizer = std::function<std::string(std::string)>;
Normalizer read_normalizer(const nlohmann::json& normalizer);

// A piece of text on its way to the model; `first`: it starts the input (Metaspace's prepend_scheme
// "first" and ByteLevel's prefix space apply there only).
struct Piece {
  std::string text;
  bool first;
};
// Pieces -> pieces (split, and ByteLevel's bytes mapped to GPT-2's printable characters).
using PreTokenizer = std::function<std::vector<Piece>(std::vector<Piece>)>;
PreTokenizer read_pre_tokenizer(const nlohmann::json& pre_tokenizer);

// Token strings -> text pieces, as the file's decoder chain does (decode_chain); concatenated they are
// the text. Without a decoder the tokens are joined by spaces, as Hugging Face does.
using Decoder = std::function<std::vector<std::string>(std::vector<std::string>)>;
Decoder read_decoder(const nlohmann::json& decoder);

// Rust's char::is_whitespace (the Unicode White_Space property), as `tokenizers` tests spaces.
bool is_whitespace(int32_t code_point);

// The byte of a byte-fallback token "<0xHH>", if `token` is one.
std::optional<uint8_t> byte_fallback_value(std::string_view token);

// GPT-2's bytes_to_unicode: the printable character that stands for a byte.
const std::string& byte_level_char(uint8_t byte);

// A PCRE2 regular expression with Unicode properties (tokenizer.json's regexes are Rust/Oniguruma
// syntax, which PCRE2 reads for everything real tokenizers use).
class Regex {
 public:
  explicit Regex(const std::string& pattern);
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;
  ~Regex();
  // Byte ranges [begin, end) of the successive non-overlapping, non-empty matches in text.
  std::vector<std::pair<size_t, size_t>> matches(std::string_view text) const;
  std::string replace_all(std::string_view text, std::string_view with) const;

 private:
  void* code_ = nullptr;
};

// A pattern object {"String": s} or {"Regex": r} as a regex (a string is matched literally).
std::shared_ptr<Regex> read_pattern(const nlohmann::json& pattern);

}  // namespace hifp8::model::tokenizer_json
