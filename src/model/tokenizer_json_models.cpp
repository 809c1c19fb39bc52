#include "tokenizer_json_models.h"

#include <mutex>
#include <optional>
#include <queue>

#include "hifp8/error.h"
#include "hifp8/model/config.h"
#include "hifp8/model/utf8.h"

namespace hifp8::model::tokenizer_json {
namespace {

// The BPE cache: pieces up to this size, at most this many (cleared when full).
constexpr size_t kMaxCachedPieceBytes = 256;
constexpr size_t kMaxCachedPieces = 65536;

std::vector<std::string> characters(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    const size_t len = size_t(std::max(1, utf8_sequence_length(std::string_view(s).substr(i))));
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

std::optional<int32_t> optional_token(const Vocabulary& vocab, const nlohmann::json& model, const char* key) {
  if (!model.contains(key) || !model[key].is_string()) return std::nullopt;
  return vocab.find(model[key].get<std::string>());
}

// "<0xHH>" tokens for each byte of `s`, if the vocabulary has them all.
bool push_byte_tokens(const Vocabulary& vocab, const std::string& s, std::vector<int32_t>& ids) {
  std::vector<int32_t> bytes;
  for (unsigned char b : s) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    const auto f = vocab.find(name);
    if (!f) return false;
    bytes.push_back(*f);
  }
  ids.insert(ids.end(), bytes.begin(), bytes.end());
  return true;
}


// Merge ranks by the pair of token ids: an open-addressing table (half a million merges load in a
// fraction of the time of string keys in std::unordered_map).
class PairRanks {
 public:
  void reserve(size_t n) {
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    keys_.assign(cap, kEmpty);
    ranks_.assign(cap, 0);
  }
  void insert(int32_t a, int32_t b, int32_t rank) {
    const uint64_t key = pack(a, b);
    for (size_t i = slot(key);; i = (i + 1) & (keys_.size() - 1)) {
      if (keys_[i] == key) return;  // a repeated merge keeps its first (lowest) rank
      if (keys_[i] == kEmpty) {
        keys_[i] = key, ranks_[i] = rank;
        return;
      }
    }
  }
  std::optional<int32_t> find(int32_t a, int32_t b) const {
    if (keys_.empty()) return std::nullopt;
    const uint64_t key = pack(a, b);
    for (size_t i = slot(key);; i = (i + 1) & (keys_.size() - 1)) {
      if (keys_[i] == key) return ranks_[i];
      if (keys_[i] == kEmpty) return std::nullopt;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static uint64_t pack(int32_t a, int32_t b) { return uint64_t(uint32_t(a)) << 32 | uint32_t(b); }
  size_t slot(uint64_t key) const { return size_t((key * 0x9E3779B97F4A7C15ull) >> 20) & (keys_.size() - 1); }
  std::vector<uint64_t> keys_;
  std::vector<int32_t> ranks_;
};

class Bpe : public Model {
 public:
  explicit Bpe(ModelData& data) {
    const nlohmann::json& model = data.params;
    vocab_.build(data.vocab);
    prefix_ = model.value("continuing_subword_prefix", nlohmann::json()).is_string() ? model["continuing_subword_prefix"].get<std::string>() : "";
    suffix_ = model.value("end_of_word_suffix", nlohmann::json()).is_string() ? model["end_of_word_suffix"].get<std::string>() : "";
    // A merge of tokens the vocabulary lacks can never apply: it is skipped.
    ranks_.reserve(data.merges.size());
    int32_t rank = 0;
    for (const std::string& key : data.merges) {
      const size_t split = key.find('\x01');
      const auto a = vocab_.find(std::string_view(key).substr(0, split)), b = vocab_.find(std::string_view(key).substr(split + 1));
      if (a && b) ranks_.insert(*a, *b, rank);
      ++rank;
    }
    ignore_merges_ = model.value("ignore_merges", false);
    byte_fallback_ = model.value("byte_fallback", false);
    fuse_unk_ = model.value("fuse_unk", false);
    unk_ = optional_token(vocab_, model, "unk_token");
  }

  void tokenize(const std::string& piece, std::vector<int32_t>& ids) const override {
    if (ignore_merges_)
      if (const auto id = vocab_.find(piece)) return ids.push_back(*id);
    {
      const std::lock_guard<std::mutex> guard(cache_lock_);
      if (const auto it = cache_.find(piece); it != cache_.end()) {
        ids.insert(ids.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<int32_t> out;
    bool last_unk = false;
    for (const std::string& s : merge(piece)) {
      if (const auto id = vocab_.find(s)) {
        out.push_back(*id), last_unk = false;
      } else if (byte_fallback_ && push_byte_tokens(vocab_, s, out)) {
        last_unk = false;
      } else if (unk_) {
        if (!(fuse_unk_ && last_unk)) out.push_back(*unk_);
        last_unk = true;
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

 private:
  // The piece's characters (the prefix on all but the first, the suffix on the last) merged by rank,
  // lowest first and leftmost among equals (as Hugging Face's BPE): a heap of candidate pairs over a
  // linked list, O(n log n) in the piece's length. A merge drops the right symbol's prefix.
  std::vector<std::string> merge(const std::string& piece) const {
    struct Symbol {
      std::string text;
      int32_t id;  // in the vocabulary, or -1
      int prev, next;
    };
    auto id_of = [&](const std::string& text) {
      return vocab_.find(text).value_or(-1);
    };
    std::vector<Symbol> sym;
    const std::vector<std::string> chars = characters(piece);
    for (size_t i = 0; i < chars.size(); ++i) {
      std::string text = (i > 0 ? prefix_ : "") + chars[i] + (i + 1 == chars.size() ? suffix_ : "");
      const int32_t id = id_of(text);
      sym.push_back({std::move(text), id, int(i) - 1, int(i) + 1});
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
      if (a.id < 0 || b.id < 0) return;
      if (const auto rank = ranks_.find(a.id, b.id)) heap.push({*rank, left, a.text.size() + b.text.size()});
    };
    for (int i = 0; i + 1 < int(sym.size()); ++i) consider(i);
    while (!heap.empty()) {
      const Candidate c = heap.top();
      heap.pop();
      Symbol& a = sym[size_t(c.left)];
      if (a.text.empty() || a.next < 0 || a.text.size() + sym[size_t(a.next)].text.size() != c.size) continue;
      Symbol& b = sym[size_t(a.next)];
      a.text += b.text.substr(std::min(prefix_.size(), b.text.size()));
      a.id = id_of(a.text);
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

  PairRanks ranks_;
  std::string prefix_, suffix_;
  std::optional<int32_t> unk_;
  bool ignore_merges_ = false, byte_fallback_ = false, fuse_unk_ = false;
  mutable std::mutex cache_lock_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

class WordLevel : public Model {
 public:
  explicit WordLevel(ModelData& data) {
    vocab_.build(data.vocab);
    unk_ = optional_token(vocab_, data.params, "unk_token");
  }
  void tokenize(const std::string& piece, std::vector<int32_t>& ids) const override {
    if (const auto id = vocab_.find(piece)) return ids.push_back(*id);
    if (!unk_) throw Error("tokenizer: '" + piece + "' is not in the vocabulary and there is no unk token");
    ids.push_back(*unk_);
  }

 private:
  std::optional<int32_t> unk_;
};

class WordPiece : public Model {
 public:
  explicit WordPiece(ModelData& data) {
    const nlohmann::json& model = data.params;
    vocab_.build(data.vocab);
    unk_ = optional_token(vocab_, model, "unk_token");
    prefix_ = model.value("continuing_subword_prefix", std::string("##"));
    max_chars_ = model.value("max_input_chars_per_word", size_t{100});
  }
  // Longest vocabulary entry at each position, "##"-prefixed after the first; a word with any part
  // that matches nothing is one unknown token.
  void tokenize(const std::string& piece, std::vector<int32_t>& ids) const override {
    const std::vector<std::string> chars = characters(piece);
    std::vector<int32_t> out;
    bool bad = chars.size() > max_chars_;
    for (size_t start = 0; !bad && start < chars.size();) {
      std::optional<int32_t> found;
      size_t end = chars.size();
      for (; end > start; --end) {
        std::string sub = start > 0 ? prefix_ : "";
        for (size_t i = start; i < end; ++i) sub += chars[i];
        if (const auto id = vocab_.find(sub)) {
          found = *id;
          break;
        }
      }
      if (!found) bad = true;
      else out.push_back(*found), start = end;
    }
    if (!bad) return ids.insert(ids.end(), out.begin(), out.end()), void();
    if (!unk_) throw Error("tokenizer: '" + piece + "' has no WordPiece segmentation and there is no unk token");
    ids.push_back(*unk_);
  }

 private:
  std::optional<int32_t> unk_;
  std::string prefix_;
  size_t max_chars_ = 100;
};

class Unigram : public Model {
 public:
  Unigram(ModelData& data, const std::string& where) {
    const nlohmann::json& model = data.params;
    for (const auto& [piece, score] : data.pieces) {
      const auto id = int32_t(scores_.size());
      vocab_.add(piece, id);
      scores_.push_back(score);
      min_score_ = std::min(min_score_, score);
      pieces_.insert(piece, size_t(id));
    }
    if (model.contains("unk_id") && model["unk_id"].is_number_integer()) {
      const int64_t u = model["unk_id"].get<int64_t>();
      if (u < 0 || u >= int64_t(scores_.size())) throw Error(where + ": Unigram unk_id is outside the vocabulary");
      unk_ = int32_t(u);
    }
    byte_fallback_ = model.value("byte_fallback", false);
  }

  // Viterbi over the pieces that start at each character (Hugging Face's encode_optimized): the best
  // total score ending at each byte; a character no piece covers costs min_score - 10 as unknown, and
  // consecutive unknowns fuse into one.
  void tokenize(const std::string& s, std::vector<int32_t>& ids) const override {
    struct Best {
      double score = 0;
      int64_t start = -1;
      int32_t id = -1;
    };
    std::vector<Best> best(s.size() + 1);
    best[0].start = 0;
    const double unk_score = min_score_ - 10.0;
    for (size_t at = 0; at < s.size();) {
      const auto char_len = size_t(std::max(1, utf8_sequence_length(std::string_view(s).substr(at))));
      const double here = best[at].score;
      bool covers_char = false;
      pieces_.for_each_match(s, at, [&](size_t id, size_t length) {  // every piece that starts here, shortest first
        Best& target = best[at + length];
        const double candidate = here + scores_[id];
        if (target.start < 0 || candidate > target.score) target = {candidate, int64_t(at), int32_t(id)};
        covers_char = covers_char || length == char_len;
      });
      if (!covers_char) {
        if (!unk_) throw Error("tokenizer: '" + s.substr(at, char_len) + "' is not in the Unigram vocabulary and there is no unk_id");
        Best& target = best[at + char_len];
        const double candidate = here + unk_score;
        if (target.start < 0 || candidate > target.score) target = {candidate, int64_t(at), *unk_};
      }
      at += char_len;
    }
    std::vector<std::pair<size_t, size_t>> spans;  // [begin, end) of each piece, last first
    std::vector<int32_t> path;
    for (size_t end = s.size(); end > 0; end = size_t(best[end].start)) {
      const bool unk = best[end].id == unk_;
      if (unk && !path.empty() && path.back() == *unk_) spans.back().first = size_t(best[end].start);  // fuse
      else spans.emplace_back(size_t(best[end].start), end), path.push_back(best[end].id);
    }
    for (size_t k = path.size(); k-- > 0;) {
      if (unk_ && path[k] == *unk_ && byte_fallback_ &&
          push_byte_tokens(vocab_, s.substr(spans[k].first, spans[k].second - spans[k].first), ids))
        continue;
      ids.push_back(path[k]);
    }
  }

 private:
  KeyTrie pieces_;  // piece -> id
  std::vector<double> scores_;
  double min_score_ = 0;
  std::optional<int32_t> unk_;
  bool byte_fallback_ = false;
};

}  // namespace

void KeyTrie::insert(std::string_view key, size_t value) {
  size_t node = 0;
  for (char c : key) {
    auto [it, fresh] = nodes_[node].children.emplace(c, nodes_.size());
    if (fresh) nodes_.emplace_back();
    node = it->second;
  }
  if (!nodes_[node].value) nodes_[node].value = value;
}

void Vocabulary::build(const std::vector<std::pair<std::string, int32_t>>& entries) {
  size_t bytes = 0;
  for (const auto& e : entries) bytes += e.first.size();
  blocks_.push_back(std::make_unique<char[]>(std::max<size_t>(bytes, 1)));
  char* at = blocks_.back().get();
  entries_.reserve(entries_.size() + entries.size());
  rehash(2 * (entries_.size() + entries.size()));
  for (const auto& [text, id] : entries) {
    std::copy(text.begin(), text.end(), at);
    entries_.push_back({std::string_view(at, text.size()), id});
    at += text.size();
    index(entries_.size() - 1);
  }
}

void Vocabulary::add(std::string_view text, int32_t id) {
  blocks_.push_back(std::make_unique<char[]>(std::max<size_t>(text.size(), 1)));
  std::copy(text.begin(), text.end(), blocks_.back().get());
  entries_.push_back({std::string_view(blocks_.back().get(), text.size()), id});
  if (2 * entries_.size() > slots_.size()) rehash(4 * entries_.size());
  else index(entries_.size() - 1);
}

std::optional<int32_t> Vocabulary::find(std::string_view text) const {
  if (slots_.empty()) return std::nullopt;
  for (size_t i = std::hash<std::string_view>{}(text) & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
    if (slots_[i] == 0) return std::nullopt;
    const Entry& e = entries_[slots_[i] - 1];
    if (e.text == text) return e.id;
  }
}

void Vocabulary::index(size_t entry) {
  for (size_t i = std::hash<std::string_view>{}(entries_[entry].text) & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1)) {
    if (slots_[i] == 0) {
      slots_[i] = uint32_t(entry + 1);
      return;
    }
    if (entries_[slots_[i] - 1].text == entries_[entry].text) return;  // first id wins
  }
}

void Vocabulary::rehash(size_t capacity) {
  size_t n = 16;
  while (n < capacity) n *= 2;
  slots_.assign(n, 0);
  for (size_t i = 0; i < entries_.size(); ++i) index(i);
}

std::unique_ptr<Model> read_model(ModelData model, const std::string& where) {
  const std::string type = model.params.value("type", "");
  if (!model.has_vocab) throw Error(where + ": the model has no \"vocab\"");
  if ((type == "BPE" || type.empty()) && !model.has_merges) throw Error(where + ": the BPE model has no \"merges\"");
  if (type == "BPE" || type.empty()) return std::make_unique<Bpe>(model);
  if (type == "Unigram") return std::make_unique<Unigram>(model, where);
  if (type == "WordLevel") return std::make_unique<WordLevel>(model);
  if (type == "WordPiece") return std::make_unique<WordPiece>(model);
  throw Error(where + ": model '" + (type.empty() ? std::string("?") : type) + "' is not supported (BPE, Unigram, WordLevel, WordPiece)");
}

}  // namespace hifp8::model::tokenizer_json
