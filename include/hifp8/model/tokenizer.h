#pragma once
// Text <-> token ids. Two implementations behind one interface: Hugging Face tokenizer.json with a
// byte-level BPE model (GPT-2, Llama-3, Qwen2 families) and SentencePiece tokenizer.model (Llama-2,
// Mistral). Tokenizer::load picks by the files in a model directory.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hifp8::model {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // add_special: prepend BOS where the tokenizer's config says so (as transformers' encode does).
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special = true) const = 0;
  // Special tokens are rendered as their text. Always valid UTF-8: bytes that do not form characters
  // become U+FFFD as the reference decoder renders them (model/detokenizer.h for streaming).
  virtual std::string decode(std::span<const int32_t> ids, bool skip_special = false) const = 0;
  virtual int32_t vocab_size() const = 0;
  // No token stands for more bytes of text than this: a text of n bytes has at least
  // ceil(n / longest_token_bytes()) tokens (what a server can reject before tokenizing).
  virtual size_t longest_token_bytes() const = 0;
  virtual std::optional<int32_t> token_id(std::string_view token) const = 0;  // a whole token's id, if any
  // The vocabulary's own spelling of a token ("Ġtime", "▁time", "<0x0A>", "<s>"), as transformers'
  // convert_ids_to_tokens gives it; Error outside the vocabulary.
  virtual std::string piece(int32_t id) const = 0;
  virtual std::vector<int32_t> eos_ids() const = 0;

  // tokenizer.json (byte-level BPE) if present, else tokenizer.model (SentencePiece); Error if neither.
  static std::unique_ptr<Tokenizer> load(const std::filesystem::path& dir);
  static std::unique_ptr<Tokenizer> load_bpe_json(const std::filesystem::path& tokenizer_json);
  // From tokenizer.json's text; `path` names it in errors (and locates tokenizer_config.json, if any).
  static std::unique_ptr<Tokenizer> from_tokenizer_json(std::string_view text, const std::filesystem::path& path);
  static std::unique_ptr<Tokenizer> load_sentencepiece(const std::filesystem::path& tokenizer_model);
};

}  // namespace hifp8::model
