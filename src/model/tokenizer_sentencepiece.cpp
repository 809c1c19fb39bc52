// SentencePiece tokenizer.model through Debian's libsentencepiece (the reference implementation).
#include <sentencepiece_processor.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>

#include "hifp8/error.h"
#include "hifp8/io/checkpoint.h"
#include "hifp8/io/file_bytes.h"
#include "hifp8/io/json_fields.h"
#include "hifp8/model/tokenizer.h"
#include "hifp8/model/utf8.h"

namespace hifp8::model {
namespace {

class SentencePieceTokenizer : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::filesystem::path& path) {
    const auto status = sp_.LoadFromSerializedProto(io::read_file(path));  // read_file: regular files only
    if (!status.ok()) throw Error("cannot load SentencePiece model " + path.string() + ": " + status.ToString());
    // transformers' LlamaTokenizer: add_bos_token (default true) and add_eos_token (default false).
    const std::filesystem::path config = path.parent_path() / "tokenizer_config.json";
    if (std::filesystem::exists(config)) {
      const nlohmann::json json = io::read_json_file(config);
      const io::JsonFields c(json, config.string());
      add_bos_ = c.boolean("add_bos_token").value_or(true);
      add_eos_ = c.boolean("add_eos_token").value_or(false);
    }
  }

  // The BOS/EOS texts ("<s>", "</s>") in the input become their ids, as transformers does for special
  // tokens (chat prompts carry them); the text between them is encoded by SentencePiece.
  std::vector<int32_t> encode(std::string_view text, bool add_special) const override {
    std::vector<int32_t> out;
    if (add_special && add_bos_ && sp_.bos_id() >= 0) out.push_back(sp_.bos_id());
    // Each special text's next occurrence is searched again only once passed: linear in the text.
    const std::array<int, 2> specials = {sp_.bos_id(), sp_.eos_id()};
    std::array<size_t, 2> next = {0, 0};
    std::array<bool, 2> stale = {true, true};
    size_t from = 0;
    for (;;) {
      size_t at = std::string_view::npos, len = 0;
      int id = -1;
      for (size_t k = 0; k < specials.size(); ++k) {
        if (specials[k] < 0) continue;
        const std::string& piece = sp_.IdToPiece(specials[k]);
        if (stale[k] || (next[k] != std::string_view::npos && next[k] < from)) next[k] = text.find(piece, from), stale[k] = false;
        if (next[k] < at) at = next[k], len = piece.size(), id = specials[k];
      }
      encode_plain(text.substr(from, at == std::string_view::npos ? std::string_view::npos : at - from), out);
      if (id < 0) break;
      out.push_back(id);
      from = at + len;
    }
    if (add_special && add_eos_ && sp_.eos_id() >= 0) out.push_back(sp_.eos_id());
    return out;
  }

  void encode_plain(std::string_view text, std::vector<int32_t>& out) const {
    if (text.empty()) return;
    std::vector<int> ids;
    const auto status = sp_.Encode(std::string(text), &ids);
    if (!status.ok()) throw Error("SentencePiece encode failed: " + status.ToString());
    out.insert(out.end(), ids.begin(), ids.end());
  }

  std::string decode(std::span<const int32_t> ids, bool skip_special) const override {
    std::vector<int> keep;
    for (int32_t id : ids) {
      if (id < 0 || id >= sp_.GetPieceSize()) throw Error("token id " + std::to_string(id) + " is outside the vocabulary");
      if (skip_special && sp_.IsControl(id)) continue;
      keep.push_back(id);
    }
    std::string text;
    const auto status = sp_.Decode(keep, &text);
    if (!status.ok()) throw Error("SentencePiece decode failed: " + status.ToString());
    return utf8_lossy(text);  // normally a no-op: SentencePiece replaces invalid bytes itself
  }

  int32_t vocab_size() const override { return sp_.GetPieceSize(); }
  std::string piece(int32_t id) const override {
    if (id < 0 || id >= sp_.GetPieceSize()) throw Error("token id " + std::to_string(id) + " is outside the vocabulary");
    return sp_.IdToPiece(id);
  }
  size_t longest_token_bytes() const override {  // a piece's "▁" (3 bytes) stands for one space
    size_t longest = 1;
    for (int i = 0; i < sp_.GetPieceSize(); ++i) longest = std::max(longest, sp_.IdToPiece(i).size());
    return longest;
  }
  std::optional<int32_t> token_id(std::string_view token) const override {
    const int id = sp_.PieceToId(std::string(token));
    if (id == sp_.unk_id() && token != sp_.IdToPiece(sp_.unk_id())) return std::nullopt;
    return id;
  }
  std::vector<int32_t> eos_ids() const override {
    if (sp_.eos_id() >= 0) return {sp_.eos_id()};
    return {};
  }

 private:
  sentencepiece::SentencePieceProcessor sp_;
  bool add_bos_ = true, add_eos_ = false;
};

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::load_sentencepiece(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw Error("no tokenizer file " + path.string());
  return std::make_unique<SentencePieceTokenizer>(path);
}

std::unique_ptr<Tokenizer> Tokenizer::load(const std::filesystem::path& dir) {
  const bool has_model = std::filesystem::exists(dir / "tokenizer.model");
  if (std::filesystem::exists(dir / "tokenizer.json")) {
    try {
      return load_bpe_json(dir / "tokenizer.json");
    } catch (const Error& e) {
      if (!has_model) throw;
      // The same vocabulary in SentencePiece's own format: a tokenizer.json this version cannot read
      // (a normalizer or model type it lacks) need not leave the model without a tokenizer.
      std::fprintf(stderr, "hifp8: warning: %s; using tokenizer.model instead\n", e.what());
    }
  }
  if (has_model) return load_sentencepiece(dir / "tokenizer.model");
  throw Error("no tokenizer in " + dir.string() + " (expected tokenizer.json or tokenizer.model)");
}

}  // namespace hifp8::model
