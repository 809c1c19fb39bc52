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
#include <string>
#include <unordered_map>
#include <vector>

namespace hifp8::model::tokenizer_json {

class Model {
 public:
  virtual ~Model() = default;
  // Appends the ids of `piece`; Error if a part of it has no id and the model no unknown token.
  virtual void tokenize(const std::string& piece, std::vector<int32_t>& ids) const = 0;
  const std::unordered_map<std::string, int32_t>& vocab() const { return vocab_; }

 protected:
  std::unordered_map<std::string, int32_t> vocab_;
};

// `where` names the file in errors. An unknown model type is an Error naming it.
std::unique_ptr<Model> read_model(const nlohmann::json& model, const std::string& where);

}  // namespace hifp8::model::tokenizer_json
