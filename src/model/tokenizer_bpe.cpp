// Hugging Face tokenizer.json with a BPE model (byte-level as GPT-2, Llama-3, Qwen; with byte fallback
// as Llama-2, Mistral): added tokens split out first, then each text between them normalized and
// pre-tokenized as the file says (tokenizer_json_pipeline.h), merges applied by rank, ids looked up;
// decoding runs the file's decoder chain.
#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <queue>
#include <unordered_map>

#include "hifp8/error.h"
#include "hifp8/io/checkpoint.h"
#include "hifp8/io/file_bytes.h"
#include "hifp8/io/json_fields.h"
#include "hifp8/model/config.h"
#include "hifp8/model/tokenizer.h"
#include "hifp8/model/utf8.h"
#include "tokenizer_json_pipeline.h"

namespace hifp8::model {
namespace {

using tokenizer_json::byte_fallback_value;

// The BPE cache: pieces up to this size, at most this many (cleared when full).
constexpr size_t kMaxCachedPieceBytes = 256;
constexpr size_t kMaxCachedPieces = 65536;

struct AddedToken {
  std::string content;
  int32_t id;
  bool special;
};

// Added tokens by their text, for the longest match at a position.
class TokenTrie {
 public:
  void insert(const std::string& key, size_t value) {
    size_t node = 0;
    for (char c : key) {
      auto [it, fresh] = nodes_[node].children.emplace(c, nodes_.size());
      if (fresh) nodes_.emplace_back();
      node = it->second;
    }
    nodes_[node].value = value;
  }
  // {value, length} of the longest key that starts at text[at], if any.
  std::optional<std::pair<size_t, size_t>> longest_match(std::string_view text, size_t at) const {
    std::optional<std::pair<size_t, size_t>> best;
    size_t node = 0;
    for (size_t i = at; i < text.size(); ++i) {
      const auto it = nodes_[node].children.find(text[i]);
      if (it == nodes_[node].children.end()) break;
      node = it->second;
      if (nodes_[node].value) best = {{*nodes_[node].value, i + 1 - at}};
    }
    return best;
  }

 private:
  struct Node {
    std::unordered_map<char, size_t> children;
    std::optional<size_t> value;
  };
  std::vector<Node> nodes_ = std::vector<Node>(1);
};

class BpeTokenizer : public Tokenizer {
 public:
  // `path`: how errors name the file; tokenizer_config.json is read from beside it when present.
  BpeTokenizer(const nlohmann::json& j, const std::filesystem::path& path) {
    const nlohmann::json& model = j.at("model");
    if (model.value("type", "") != "BPE")
      throw Error(path.string() + ": model '" + model.value("type", std::string("?")) + "' is not supported (BPE)");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
      if (model.contains(key) && !model[key].is_null() && model[key] != "")
        throw Error(path.string() + ": BPE " + key + " is not supported");
    // Token ids: integers in [0, kMaxVocabulary) (nlohmann's get<int32_t> would cast a float such as
    // 1e121 with undefined behaviour; the fuzzer found it).
    const io::JsonFields vocab(model.at("vocab"), path.string() + " model vocab");
    for (const auto& [token, id] : model.at("vocab").items()) vocab_[token] = int32_t(vocab.integer_value(id, token, 0, kMaxVocabulary - 1));
    int32_t rank = 0;
    for (const nlohmann::json& m : model.at("merges")) {
      std::string a, b;
      if (m.is_string()) {
        const std::string s = m.get<std::string>();
        const size_t space = s.find(' ', 1);
        if (space == std::string::npos) throw Error(path.string() + ": bad merge '" + s + "'");
        a = s.substr(0, space), b = s.substr(space + 1);
      } else {
        a = m.at(0).get<std::string>(), b = m.at(1).get<std::string>();
      }
      ranks_[a + '\x01' + b] = rank++;
    }
    ignore_merges_ = model.value("ignore_merges", false);
    byte_fallback_ = model.value("byte_fallback", false);
    if (model.contains("unk_token") && model["unk_token"].is_string()) {
      const auto it = vocab_.find(model["unk_token"].get<std::string>());
      if (it != vocab_.end()) unk_ = it->second;
    }
    for (const nlohmann::json& t : j.value("added_tokens", nlohmann::json::array())) {
      std::string content = t.at("content").get<std::string>();
      if (content.empty()) continue;  // matches nowhere (and would match everywhere)
      const int64_t id = io::JsonFields(t, path.string() + " added token").required_integer("id", 0, kMaxVocabulary - 1);
      added_.push_back({std::move(content), int32_t(id), t.value("special", false)});
    }
    // Longest first, so that "<|eot|>" is not cut by a shorter token that is its prefix.
    std::sort(added_.begin(), added_.end(), [](const AddedToken& x, const AddedToken& y) { return x.content.size() > y.content.size(); });
    for (size_t i = 0; i < added_.size(); ++i) {
      id_to_added_[added_[i].id] = i;
      added_trie_.insert(added_[i].content, i);
    }
    try {
      normalizer_ = tokenizer_json::read_normalizer(j.value("normalizer", nlohmann::json()));
      pre_tokenizer_ = tokenizer_json::read_pre_tokenizer(j.value("pre_tokenizer", nlohmann::json()));
      decoder_ = tokenizer_json::read_decoder(j.value("decoder", nlohmann::json()));
    } catch (const Error& e) {
      throw Error(path.string() + ": " + e.what());
    }
    read_post_processor(j.value("post_processor", nlohmann::json()));
    for (const auto& [token, id] : vocab_) {
      id_to_token_[id] = token;
      longest_ = std::max(longest_, token.size());  // a byte-level character stands for one byte
    }
    for (const AddedToken& t : added_) longest_ = std::max(longest_, t.content.size());
    const std::filesystem::path config = path.parent_path() / "tokenizer_config.json";
    if (std::filesystem::exists(config)) {
      const nlohmann::json c = io::read_json_file(config);
      if (c.contains("eos_token")) {
        const nlohmann::json& e = c["eos_token"];
        const std::string name = e.is_string() ? e.get<std::string>() : e.is_object() ? e.value("content", "") : "";
        if (auto id = token_id(name)) eos_.push_back(*id);
      }
    }
  }

  std::vector<int32_t> encode(std::string_view text, bool add_special) const override {
    std::vector<int32_t> ids;
    if (add_special) ids = prefix_;
    // Added tokens split the text first: at each position the longest added token that starts there
    // (a trie walk, so the scan is linear in the text for any number of added tokens).
    size_t plain = 0;
    for (size_t at = 0; at < text.size();) {
      const auto found = added_trie_.longest_match(text, at);
      if (!found) {
        ++at;
        continue;
      }
      encode_plain(text.substr(plain, at - plain), plain == 0, ids);
      ids.push_back(added_[found->first].id);
      at += found->second;
      plain = at;
    }
    encode_plain(text.substr(plain), plain == 0, ids);
    return ids;
  }

  // As Hugging Face's decode: the tokens' strings (special ones left out when asked) through the
  // file's decoder chain, joined. Always valid UTF-8.
  std::string decode(std::span<const int32_t> ids, bool skip_special) const override {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int32_t id : ids) {
      if (const auto a = id_to_added_.find(id); a != id_to_added_.end()) {
        if (!(skip_special && added_[a->second].special)) tokens.push_back(added_[a->second].content);
        continue;
      }
      const auto t = id_to_token_.find(id);
      if (t == id_to_token_.end()) throw Error("token id " + std::to_string(id) + " is outside the vocabulary");
      tokens.push_back(t->second);
    }
    std::string text;
    for (const std::string& piece : decoder_(std::move(tokens))) text += piece;
    return utf8_lossy(text);
  }

  int32_t vocab_size() const override {
    int32_t n = int32_t(vocab_.size());
    for (const AddedToken& t : added_) n = std::max(n, t.id + 1);
    return n;
  }
  std::optional<int32_t> token_id(std::string_view token) const override {
    for (const AddedToken& t : added_)
      if (t.content == token) return t.id;
    const auto it = vocab_.find(std::string(token));
    if (it == vocab_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<int32_t> eos_ids() const override { return eos_; }
  size_t longest_token_bytes() const override { return std::max<size_t>(longest_, 1); }
  std::string piece(int32_t id) const override {
    if (const auto a = id_to_added_.find(id); a != id_to_added_.end()) return added_[a->second].content;
    const auto t = id_to_token_.find(id);
    if (t == id_to_token_.end()) throw Error("token id " + std::to_string(id) + " is outside the vocabulary");
    return t->second;
  }

 private:
  void read_post_processor(const nlohmann::json& p) {
    if (p.is_null()) return;
    const std::string type = p.value("type", "");
    if (type == "Sequence") {
      for (const nlohmann::json& s : p.at("processors")) read_post_processor(s);
    } else if (type == "TemplateProcessing") {
      for (const nlohmann::json& item : p.at("single")) {
        if (!item.contains("SpecialToken")) break;  // tokens before the sequence are its prefix
        const std::string name = item["SpecialToken"].at("id").get<std::string>();
        const auto id = token_id(name);
        if (!id) throw Error("tokenizer.json: template token '" + name + "' is not in the vocabulary");
        prefix_.push_back(*id);
      }
    }
    // ByteLevel and others add nothing to a single sequence.
  }

  // Text between added tokens: normalized, pre-tokenized, each piece through the BPE model. `first`:
  // the text starts the input (for Metaspace's prepend_scheme "first").
  void encode_plain(std::string_view text, bool first, std::vector<int32_t>& ids) const {
    if (text.empty()) return;
    std::vector<tokenizer_json::Piece> pieces;
    pieces.push_back({normalizer_(std::string(text)), first});
    for (const tokenizer_json::Piece& piece : pre_tokenizer_(std::move(pieces)))
      if (!piece.text.empty()) bpe(piece.text, ids);
  }

  void bpe(const std::string& piece, std::vector<int32_t>& ids) const {
    if (ignore_merges_) {
      if (const auto it = vocab_.find(piece); it != vocab_.end()) {
        ids.push_back(it->second);
        return;
      }
    }
    {
      const std::lock_guard<std::mutex> guard(cache_lock_);
      if (const auto it = cache_.find(piece); it != cache_.end()) {
        ids.insert(ids.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    const std::vector<std::string> symbols = merge(piece);
    std::vector<int32_t> out;
    for (const std::string& s : symbols) {
      if (const auto it = vocab_.find(s); it != vocab_.end()) {
        out.push_back(it->second);
      } else if (byte_fallback_) {
        for (unsigned char b : s) {
          char name[8];
          std::snprintf(name, sizeof name, "<0x%02X>", b);
          const auto f = vocab_.find(name);
          if (f == vocab_.end()) throw Error("tokenizer: no byte-fallback token " + std::string(name));
          out.push_back(f->second);
        }
      } else if (unk_) {
        out.push_back(*unk_);
      } else {
        throw Error("tokenizer: '" + s + "' is not in the vocabulary and there is no unk token");
      }
    }
    ids.insert(ids.end(), out.begin(), out.end());
    if (piece.size() > kMaxCachedPieceBytes) return;  // long pieces are rare: caching them only costs memory
    const std::lock_guard<std::mutex> guard(cache_lock_);
    if (cache_.size() >= kMaxCachedPieces) cache_.clear();  // bounded: a flood of distinct words cannot grow it
    cache_.emplace(piece, std::move(out));
  }

  // The piece's characters merged by rank, lowest first and leftmost among equals (as Hugging Face's
  // BPE): a heap of candidate pairs over a linked list, O(n log n) in the piece's length.
  std::vector<std::string> merge(const std::string& piece) const {
    struct Symbol {
      std::string text;
      int prev, next;
    };
    std::vector<Symbol> sym;
    for (size_t i = 0; i < piece.size();) {
      const size_t len = size_t(std::max(1, utf8_sequence_length(std::string_view(piece).substr(i))));
      sym.push_back({piece.substr(i, len), int(sym.size()) - 1, int(sym.size()) + 1});
      i += len;
    }
    if (sym.empty()) return {};
    sym.back().next = -1;
    struct Candidate {
      int32_t rank;
      int left;
      size_t size;  // left + right text sizes when pushed: a changed size marks a stale candidate
      bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
    const auto consider = [&](int left) {
      if (left < 0 || sym[size_t(left)].next < 0) return;
      const Symbol& a = sym[size_t(left)];
      const Symbol& b = sym[size_t(a.next)];
      const auto it = ranks_.find(a.text + '\x01' + b.text);
      if (it != ranks_.end()) heap.push({it->second, left, a.text.size() + b.text.size()});
    };
    for (int i = 0; i + 1 < int(sym.size()); ++i) consider(i);
    while (!heap.empty()) {
      const Candidate c = heap.top();
      heap.pop();
      Symbol& a = sym[size_t(c.left)];
      if (a.text.empty() || a.next < 0 || a.text.size() + sym[size_t(a.next)].text.size() != c.size) continue;
      Symbol& b = sym[size_t(a.next)];
      a.text += b.text;
      b.text.clear();  // removed from the list
      a.next = b.next;
      if (a.next >= 0) sym[size_t(a.next)].prev = c.left;
      consider(a.prev);
      consider(c.left);
    }
    std::vector<std::string> out;
    for (int i = 0; i >= 0; i = sym[size_t(i)].next) out.push_back(std::move(sym[size_t(i)].text));
    return out;
  }

  std::unordered_map<std::string, int32_t> vocab_;
  std::unordered_map<int32_t, std::string> id_to_token_;
  std::unordered_map<std::string, int32_t> ranks_;  // "a\x01b" -> merge rank
  std::vector<AddedToken> added_;
  std::unordered_map<int32_t, size_t> id_to_added_;
  TokenTrie added_trie_;
  size_t longest_ = 0;
  tokenizer_json::Normalizer normalizer_;
  tokenizer_json::PreTokenizer pre_tokenizer_;
  tokenizer_json::Decoder decoder_;
  std::vector<int32_t> prefix_, eos_;
  std::optional<int32_t> unk_;
  bool ignore_merges_ = false, byte_fallback_ = false;
  mutable std::mutex cache_lock_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::load_bpe_json(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw Error("no tokenizer file " + path.string());
  return from_tokenizer_json(io::read_file(path), path);
}

std::unique_ptr<Tokenizer> Tokenizer::from_tokenizer_json(std::string_view text, const std::filesystem::path& path) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) throw Error(path.string() + ": not valid JSON");
  try {
    return std::make_unique<BpeTokenizer>(j, path);
  } catch (const nlohmann::json::exception& e) {  // a field of the wrong type or missing
    throw Error(path.string() + ": malformed tokenizer.json (" + e.what() + ")");
  }
}

}  // namespace hifp8::model
