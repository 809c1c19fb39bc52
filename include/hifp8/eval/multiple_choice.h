#pragma once
// Multiple-choice accuracy by log-likelihood, as lm-evaluation-harness defines it: for each choice,
// the summed log-probability of its tokens after the question (continuation " " + choice, tokens taken
// from encoding question + continuation minus the question's tokens); acc picks the highest sum,
// acc_norm the highest sum per character of the choice. Benchmark files: eval/benchmark_items.h.
#include <filesystem>
#include <string>
#include <vector>

#include "hifp8/model/engine.h"
#include "hifp8/model/model.h"
#include "hifp8/model/tokenizer.h"

namespace hifp8::eval {

struct ChoiceItem {
  std::string question;  // the context the choices continue (the task's prompt)
  std::vector<std::string> choices;
  size_t answer = 0;
};

struct ChoiceResult {
  size_t items = 0;
  double acc = 0, acc_norm = 0;
  std::vector<std::vector<double>> loglik;  // per item, per choice
};

// On an engine (CPU or GPU): each context + choice is one prefill of slot 0.
ChoiceResult multiple_choice(model::Engine& m, const model::Tokenizer& tok, const std::vector<ChoiceItem>& items);
// On the CPU engine.
ChoiceResult multiple_choice(const model::Model& m, const model::Tokenizer& tok, const std::vector<ChoiceItem>& items);

}  // namespace hifp8::eval
