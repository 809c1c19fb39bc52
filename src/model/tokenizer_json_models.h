#pragma once
// The models of a Hugging Face tokenizer.json, which turn one pre-tokenized piece into ids:
//   BPE        merges by rank (byte-level, byte_fallback, ignore_merges, continuing_subword_prefix,
//              end_of_word_suffix, fuse_unk; dropout is a training option and ignored)
//   Unigram    the Viterbi best segmentation by piece scores (T5, ALBERT, SentencePiece exports)
//   WordLevel  one id per piece
//   WordPiece  greedy longest match with "##" continuations (BERT)
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <string>
#include <unordered_map>
#include <vector>

namespace hifp8::model::tokenizer_json {

// Token text -> id: the texts in one arena, an open-addressing index over them (a 262k-token
// vocabulary loads several times faster than into std::unordered_map<std::string, int>).
class Vocabulary {
 public:
  struct Entry {
    std::string_view text;
    int32_t id;
  };
  // A text already present keeps its first id.
  void build(const std::vector<std::pair<std::string, int32_t>>& entries);
  void add(std::string_view text, int32_t id);  // one more (rebuilds the index when it fills up)
  std::optional<int32_t> find(std::string_view text) const;
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  void index(size_t i);
  void rehash(size_t capacity);
  std::vector<std::unique_ptr<char[]>> blocks_;  // the texts; entries_ point into them
  std::vector<Entry> entries_;
  std::vector<uint32_t> slots_;  // entry index + 1; 0: empty
};

// Keys by their bytes, for the keys that start at a position of a text: added tokens (the longest
// match) and Unigram's pieces (every match).
class KeyTrie {
 public:
  void insert(std::string_view key, size_t value);  // a key inserted twice keeps its first value
  // fn(value, length) for each key that starts at text[at], shortest first.
  template <typename F>
  void for_each_match(std::string_view text, size_t at, F fn) const {
    size_t node = 0;
    for (size_t i = at; i < text.size(); ++i) {
      const auto it = nodes_[node].children.find(text[i]);
      if (it == nodes_[node].children.end()) return;
      node = it->second;
      if (nodes_[node].value) fn(*nodes_[node].value, i + 1 - at);
    }
  }
  // {value, length} of the longest key that starts at text[at], if any.
  std::optional<std::pair<size_t, size_t>> longest_match(std::string_view text, size_t at) const {
    std::optional<std::pair<size_t, size_t>> best;
    for_each_match(text, at, [&](size_t value, size_t length) { best = {{value, length}}; });
    return best;
  }

 private:
  struct Node {
    std::unordered_map<char, size_t> children;
    std::optional<size_t> value;
  };
  std::vector<Node> nodes_ = std::vector<Node>(1);
};

class Model {
 public:
  virtual ~Model() = default;
  // Appends the ids of `piece`; Error if a part of it has no id and the model no unknown token.
  virtual void tokenize(const std::string& piece, std::vector<int32_t>& ids) const = 0;
  const Vocabulary& vocab() const { return vocab_; }

 protected:
  Vocabulary vocab_;
};

// A model as read from the file: its small fields as JSON, its large ones (vocabulary, merges) as
// plain lists, read straight from the parsed file (tokenizer.json files run to 30 MB).
struct ModelData {
  nlohmann::json params = nlohmann::json::object();     // the model object less "vocab" and "merges"
  std::vector<std::pair<std::string, int32_t>> vocab;   // BPE, WordLevel, WordPiece: token and id
  std::vector<std::pair<std::string, double>> pieces;   // Unigram: piece and score (the id is the index)
  std::vector<std::string> merges;  // BPE, by rank: "a" + '\x01' + "b" (the key of the rank table)
  bool has_vocab = false, has_merges = false;  // the file had the fields (empty lists are fine)
};

// `where` names the file in errors. An unknown model type is an Error naming it.
std::unique_ptr<Model> read_model(ModelData model, const std::string& where);

}  // namespace hifp8::model::tokenizer_json
