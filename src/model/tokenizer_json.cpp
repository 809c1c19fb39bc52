// Hugging Face tokenizer.json: added tokens split out first (with their lstrip/rstrip/single_word/
// normalized flags), then each text between them normalized and pre-tokenized as the file says
// (tokenizer_json_pipeline.h) and tokenized by its model (tokenizer_json_models.h: BPE, Unigram,
// WordLevel, WordPiece), the post-processor's special tokens around; decoding runs the file's decoder
// chain.
#include <algorithm>
#include <array>
#include <map>
#include <unordered_map>

#include "hifp8/error.h"
#include "hifp8/io/checkpoint.h"
#include "hifp8/io/file_bytes.h"
#include "hifp8/io/json_fields.h"
#include "hifp8/model/config.h"
#include "hifp8/model/tokenizer.h"
#include "hifp8/model/utf8.h"
#include "tokenizer_json_models.h"
#include "tokenizer_json_pipeline.h"

#include <simdjson.h>
#include <utf8proc.h>

namespace hifp8::model {
namespace {


struct AddedToken {
  std::string content;
  int32_t id;
  bool special, normalized, lstrip, rstrip, single_word;
};

// Where added tokens split a text (Hugging Face's AddedVocabulary::find_matches): leftmost-longest
// matches, a single_word token only between non-word characters, lstrip/rstrip taking the spaces
// beside it along.
struct Split {
  size_t begin, end;
  std::optional<int32_t> id;  // an added token; nullopt: text for the model
};

bool is_word_char(std::string_view text, bool last) {
  if (text.empty()) return false;
  size_t at = 0;
  if (last) {
    at = text.size() - 1;
    while (at > 0 && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) --at;
  }
  utf8proc_int32_t c;
  if (utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + at), utf8proc_ssize_t(text.size() - at), &c) <= 0) return false;
  if (c == '_') return true;
  const auto k = utf8proc_category(c);
  return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_ND + 2) || k == UTF8PROC_CATEGORY_PC;  // letters, marks, numbers
}

size_t leading_spaces(std::string_view text) {
  size_t n = 0;
  while (n < text.size()) {
    utf8proc_int32_t c;
    const auto len = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + n), utf8proc_ssize_t(text.size() - n), &c);
    if (len <= 0 || !tokenizer_json::is_whitespace(c)) break;
    n += size_t(len);
  }
  return n;
}

size_t trailing_spaces(std::string_view text) {
  size_t n = text.size();
  while (n > 0) {
    size_t at = n - 1;
    while (at > 0 && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) --at;
    utf8proc_int32_t c;
    if (utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + at), utf8proc_ssize_t(n - at), &c) <= 0 ||
        !tokenizer_json::is_whitespace(c))
      break;
    n = at;
  }
  return text.size() - n;
}

// "vocab": {token: id} (BPE, WordLevel, WordPiece) or [[piece, score], ...] (Unigram). Ids are
// integers in [0, kMaxVocabulary): a float such as 1e121 would be undefined behaviour to cast (the
// fuzzer found it in an earlier reader).
void read_vocabulary(simdjson::dom::element vocab, const std::string& where, tokenizer_json::ModelData& out) {
  if (simdjson::dom::object ids; !vocab.get_object().get(ids)) {
    out.vocab.reserve(ids.size());
    for (auto [token, id] : ids) {
      int64_t v;
      if (id.get_int64().get(v) || v < 0 || v >= kMaxVocabulary)
        throw Error(where + " model vocab: \"" + std::string(token) + "\" must be an integer in [0, " + std::to_string(kMaxVocabulary - 1) + "]");
      out.vocab.emplace_back(std::string(token), int32_t(v));
    }
    return;
  }
  simdjson::dom::array entries;
  if (vocab.get_array().get(entries) || entries.size() > size_t(kMaxVocabulary))
    throw Error(where + ": model vocab must be an object of ids or a list of [piece, score]");
  for (simdjson::dom::element entry : entries) {
    simdjson::dom::array pair;
    std::string_view piece;
    double score;
    if (entry.get_array().get(pair) || pair.size() != 2 || pair.at(0).get_string().get(piece) || pair.at(1).get_double().get(score))
      throw Error(where + ": Unigram vocab entries must be [piece, score]");
    out.pieces.emplace_back(std::string(piece), score);
  }
}

// "merges": ["a b", ...] or [["a", "b"], ...].
void read_merges(simdjson::dom::element merges, const std::string& where, tokenizer_json::ModelData& out) {
  simdjson::dom::array list;
  if (merges.get_array().get(list)) throw Error(where + ": model merges must be a list");
  out.merges.reserve(list.size());
  for (simdjson::dom::element m : list) {
    std::string_view s, a, b;
    simdjson::dom::array pair;
    if (!m.get_string().get(s)) {
      const size_t space = s.find(' ', 1);
      if (space == std::string_view::npos) throw Error(where + ": bad merge '" + std::string(s) + "'");
      std::string key(s);
      key[space] = '\x01';
      out.merges.push_back(std::move(key));
    } else if (!m.get_array().get(pair) && pair.size() == 2 && !pair.at(0).get_string().get(a) && !pair.at(1).get_string().get(b)) {
      out.merges.push_back(std::string(a) + '\x01' + std::string(b));
    } else {
      throw Error(where + ": merges must be \"a b\" strings or [a, b] pairs");
    }
  }
}

class JsonTokenizer : public Tokenizer {
 public:
  // `path`: how errors name the file; tokenizer_config.json is read from beside it when present.
  JsonTokenizer(const nlohmann::json& j, tokenizer_json::ModelData model, const std::filesystem::path& path) {
    try {
      model_ = tokenizer_json::read_model(std::move(model), path.string());
      normalizer_ = tokenizer_json::read_normalizer(j.value("normalizer", nlohmann::json()));
      pre_tokenizer_ = tokenizer_json::read_pre_tokenizer(j.value("pre_tokenizer", nlohmann::json()));
      decoder_ = tokenizer_json::read_decoder(j.value("decoder", nlohmann::json()));
    } catch (const Error& e) {
      const std::string what = e.what();
      throw Error(what.starts_with(path.string()) ? what : path.string() + ": " + what);
    }
    for (const nlohmann::json& t : j.value("added_tokens", nlohmann::json::array())) {
      std::string content = t.at("content").get<std::string>();
      if (content.empty()) continue;  // matches nowhere (and would match everywhere)
      const int64_t id = io::JsonFields(t, path.string() + " added token").required_integer("id", 0, kMaxVocabulary - 1);
      const bool special = t.value("special", false);
      added_.push_back({std::move(content), int32_t(id), special, t.value("normalized", !special), t.value("lstrip", false),
                        t.value("rstrip", false), t.value("single_word", false)});
    }
    for (size_t i = 0; i < added_.size(); ++i) {
      id_to_added_[added_[i].id] = i;
      (added_[i].normalized ? normalized_trie_ : raw_trie_).insert(added_[i].content, i);
    }
    for (const auto& e : model_->vocab().entries()) vocab_size_ = std::max(vocab_size_, e.id + 1);
    for (const AddedToken& t : added_) vocab_size_ = std::max(vocab_size_, t.id + 1);
    id_to_token_.assign(size_t(vocab_size_), std::nullopt);
    for (const auto& e : model_->vocab().entries()) {
      if (!id_to_token_[size_t(e.id)]) id_to_token_[size_t(e.id)] = e.text;
      longest_ = std::max(longest_, e.text.size());  // a byte-level character stands for one byte
    }
    for (const AddedToken& t : added_) longest_ = std::max(longest_, t.content.size());
    read_post_processor(j.value("post_processor", nlohmann::json()), path);
    read_tokenizer_config(path.parent_path() / "tokenizer_config.json");
  }

  std::vector<int32_t> encode(std::string_view text, bool add_special) const override {
    std::vector<int32_t> ids;
    if (add_special) ids = prefix_;
    // Added tokens that match the raw text split it first; the text between is normalized, split
    // again by the added tokens that match normalized text, and pre-tokenized for the model.
    for (const Split& raw : find_added(text, raw_trie_)) {
      if (raw.id) {
        ids.push_back(*raw.id);
        continue;
      }
      const std::string normalized = normalizer_(std::string(text.substr(raw.begin, raw.end - raw.begin)));
      for (const Split& n : find_added(normalized, normalized_trie_)) {
        if (n.id) ids.push_back(*n.id);
        else encode_plain(normalized.substr(n.begin, n.end - n.begin), raw.begin == 0 && n.begin == 0, ids);
      }
    }
    if (add_special) ids.insert(ids.end(), suffix_.begin(), suffix_.end());
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
      tokens.push_back(token_text(id));
    }
    std::string text;
    if (!tokens.empty())
      for (const std::string& piece : decoder_(std::move(tokens))) text += piece;
    return utf8_lossy(text);
  }

  int32_t vocab_size() const override { return vocab_size_; }
  std::optional<int32_t> token_id(std::string_view token) const override {
    for (const AddedToken& t : added_)
      if (t.content == token) return t.id;
    return model_->vocab().find(token);
  }
  std::vector<int32_t> eos_ids() const override { return eos_; }
  size_t longest_token_bytes() const override { return std::max<size_t>(longest_, 1); }
  std::string piece(int32_t id) const override {
    if (const auto a = id_to_added_.find(id); a != id_to_added_.end()) return added_[a->second].content;
    return token_text(id);
  }

 private:
  std::string token_text(int32_t id) const {
    if (id < 0 || id >= vocab_size_ || !id_to_token_[size_t(id)])
      throw Error("token id " + std::to_string(id) + " is outside the vocabulary");
    return std::string(*id_to_token_[size_t(id)]);
  }

  std::vector<Split> find_added(std::string_view text, const tokenizer_json::KeyTrie& trie) const {
    std::vector<Split> out;
    size_t done = 0;  // text before this is in `out`
    for (size_t at = 0; at < text.size();) {
      const auto found = trie.longest_match(text, at);
      if (!found) {
        ++at;
        continue;
      }
      const AddedToken& t = added_[found->first];
      size_t begin = at, end = at + found->second;
      at = end;
      if (t.single_word && (is_word_char(text.substr(0, begin), true) || is_word_char(text.substr(end), false))) continue;
      if (t.lstrip) begin = std::max(begin - trailing_spaces(text.substr(0, begin)), done);
      if (t.rstrip) end += leading_spaces(text.substr(end));
      if (done < begin) out.push_back({done, begin, std::nullopt});
      out.push_back({begin, end, t.id});
      done = end;
      at = std::max(at, end);
    }
    if (done < text.size() || out.empty()) out.push_back({done, text.size(), std::nullopt});
    return out;
  }

  // tokenizer.json's post_processor: the ids around a single sequence.
  void read_post_processor(const nlohmann::json& p, const std::filesystem::path& path) {
    if (p.is_null()) return;
    const std::string type = p.value("type", "");
    auto token_ids = [&](const std::string& name) {
      if (p.contains("special_tokens") && p["special_tokens"].contains(name))
        return p["special_tokens"][name].at("ids").get<std::vector<int32_t>>();
      const auto id = token_id(name);
      if (!id) throw Error(path.string() + ": post-processor token '" + name + "' is not in the vocabulary");
      return std::vector<int32_t>{*id};
    };
    if (type == "Sequence") {
      for (const nlohmann::json& s : p.at("processors")) read_post_processor(s, path);
    } else if (type == "TemplateProcessing") {
      bool after = false;
      for (const nlohmann::json& item : p.at("single")) {
        if (item.contains("Sequence")) {
          after = true;
          continue;
        }
        const std::vector<int32_t> ids = token_ids(item.at("SpecialToken").at("id").get<std::string>());
        (after ? suffix_ : prefix_).insert((after ? suffix_ : prefix_).end(), ids.begin(), ids.end());
      }
    } else if (type == "BertProcessing" || type == "RobertaProcessing") {  // cls $A sep
      prefix_.push_back(p.at("cls").at(1).get<int32_t>());
      suffix_.push_back(p.at("sep").at(1).get<int32_t>());
    } else if (type != "ByteLevel") {
      throw Error(path.string() + ": post_processor '" + type + "' is not supported (TemplateProcessing, BertProcessing, "
                  "RobertaProcessing, ByteLevel, Sequence)");
    }
  }

  // eos_token; and for the tokenizer classes whose add_bos_token / add_eos_token rebuild the
  // post-processor in transformers (Llama, Gemma, CodeLlama), those flags.
  void read_tokenizer_config(const std::filesystem::path& config) {
    if (!std::filesystem::exists(config)) return;
    const nlohmann::json c = io::read_json_file(config);
    auto token = [&](const char* key) -> std::optional<int32_t> {
      if (!c.contains(key)) return std::nullopt;
      const nlohmann::json& e = c[key];
      return token_id(e.is_string() ? e.get<std::string>() : e.is_object() ? e.value("content", "") : "");
    };
    if (const auto eos = token("eos_token")) eos_.push_back(*eos);
    const std::string cls = c.value("tokenizer_class", nlohmann::json("")).is_string() ? c.value("tokenizer_class", "") : "";
    const bool rebuilds = cls.starts_with("LlamaTokenizer") || cls.starts_with("GemmaTokenizer") || cls.starts_with("CodeLlamaTokenizer");
    if (!rebuilds) return;
    if (c.contains("add_bos_token") && c["add_bos_token"].is_boolean()) {
      prefix_.clear();
      if (const auto bos = token("bos_token"); bos && c["add_bos_token"].get<bool>()) prefix_.push_back(*bos);
    }
    if (c.contains("add_eos_token") && c["add_eos_token"].is_boolean()) {
      suffix_.clear();
      if (const auto eos = token("eos_token"); eos && c["add_eos_token"].get<bool>()) suffix_.push_back(*eos);
    }
  }

  // Text between added tokens, normalized: pre-tokenized, each piece through the model. `first`:
  // the text starts the input (for Metaspace's prepend_scheme "first").
  void encode_plain(const std::string& text, bool first, std::vector<int32_t>& ids) const {
    if (text.empty()) return;
    std::vector<tokenizer_json::Piece> pieces;
    pieces.push_back({text, first});
    for (const tokenizer_json::Piece& piece : pre_tokenizer_(std::move(pieces)))
      if (!piece.text.empty()) model_->tokenize(piece.text, ids);
  }

  std::unique_ptr<tokenizer_json::Model> model_;
  int32_t vocab_size_ = 0;
  std::vector<std::optional<std::string_view>> id_to_token_;  // into the model's vocabulary; unused ids empty
  std::vector<AddedToken> added_;
  std::unordered_map<int32_t, size_t> id_to_added_;
  tokenizer_json::KeyTrie raw_trie_, normalized_trie_;  // added tokens matched before / after normalization
  size_t longest_ = 0;
  tokenizer_json::Normalizer normalizer_;
  tokenizer_json::PreTokenizer pre_tokenizer_;
  tokenizer_json::Decoder decoder_;
  std::vector<int32_t> prefix_, suffix_, eos_;
};

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::load_bpe_json(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw Error("no tokenizer file " + path.string());
  return from_tokenizer_json(io::read_file(path), path);
}

// Parsed with simdjson (a 30 MB file in ~0.06 s, nlohmann takes ~0.6 s): the model's vocabulary and
// merges read from it directly, every other field (small) converted to nlohmann::json.
std::unique_ptr<Tokenizer> Tokenizer::from_tokenizer_json(std::string_view text, const std::filesystem::path& path) {
  const std::string where = path.string();
  simdjson::dom::parser parser;
  const simdjson::padded_string padded(text);
  simdjson::dom::element root;
  simdjson::dom::object object;
  if (parser.parse(padded).get(root)) throw Error(where + ": not valid JSON");
  if (root.get_object().get(object)) throw Error(where + ": not a JSON object");
  auto to_json = [](simdjson::dom::element e) { return nlohmann::json::parse(simdjson::to_string(e)); };
  nlohmann::json rest = nlohmann::json::object();
  tokenizer_json::ModelData model;
  for (auto [key, value] : object) {
    if (key != "model") {
      rest[std::string(key)] = to_json(value);
      continue;
    }
    simdjson::dom::object m;
    if (value.get_object().get(m)) throw Error(where + ": \"model\" is not an object");
    for (auto [mkey, mvalue] : m) {
      if (mkey == "vocab") read_vocabulary(mvalue, where, model), model.has_vocab = true;
      else if (mkey == "merges") read_merges(mvalue, where, model), model.has_merges = true;
      else model.params[std::string(mkey)] = to_json(mvalue);
    }
  }
  if (!object["model"].is_object()) throw Error(where + ": no \"model\" object");
  try {
    return std::make_unique<JsonTokenizer>(rest, std::move(model), path);
  } catch (const nlohmann::json::exception& e) {  // a field of the wrong type or missing
    throw Error(where + ": malformed tokenizer.json (" + e.what() + ")");
  }
}

}  // namespace hifp8::model
