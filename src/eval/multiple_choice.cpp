#include "hifp8/eval/multiple_choice.h"

#include <algorithm>

#include "hifp8/error.h"
#include "hifp8/model/utf8.h"

namespace hifp8::eval {

ChoiceResult multiple_choice(const model::Model& m, const model::Tokenizer& tok, const std::vector<ChoiceItem>& items) {
  const auto engine = model::cpu_engine(m, model::KvDType::f32, 1, m.config().max_positions);
  return multiple_choice(*engine, tok, items);
}

ChoiceResult multiple_choice(model::Engine& m, const model::Tokenizer& tok, const std::vector<ChoiceItem>& items) {
  ChoiceResult r;
  size_t correct = 0, correct_norm = 0;
  for (const ChoiceItem& item : items) {
    const std::vector<int32_t> context = tok.encode(item.question);
    std::vector<double> ll, ll_norm;
    for (const std::string& choice : item.choices) {
      const std::string continuation = " " + choice;
      const std::vector<int32_t> whole = tok.encode(item.question + continuation);
      // Tokens shared with the question's encoding are context; the rest is the continuation.
      size_t split = 0;
      while (split < context.size() && split < whole.size() && context[split] == whole[split]) ++split;
      split = std::max<size_t>(split, 1);
      if (split >= whole.size()) throw Error("choice '" + choice + "' adds no tokens to its question");
      if (int64_t(whole.size()) > m.context())
        throw Error("a question with choice '" + choice + "' has " + std::to_string(whole.size()) + " tokens; the engine's context is " +
                    std::to_string(m.context()) + " (--max-context)");
      double sum = 0;
      for (const model::TokenScore& t : m.score(0, whole, split)) sum += t.logprob;
      ll.push_back(sum);
      ll_norm.push_back(sum / double(std::max<size_t>(model::utf8_length(choice), 1)));  // lm-eval: characters of the choice
    }
    correct += size_t(std::max_element(ll.begin(), ll.end()) - ll.begin()) == item.answer;
    correct_norm += size_t(std::max_element(ll_norm.begin(), ll_norm.end()) - ll_norm.begin()) == item.answer;
    r.loglik.push_back(ll);
  }
  r.items = items.size();
  r.acc = double(correct) / double(items.size());
  r.acc_norm = double(correct_norm) / double(items.size());
  return r;
}

}  // namespace hifp8::eval
