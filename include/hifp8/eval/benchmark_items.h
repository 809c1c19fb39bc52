#pragma once
// Multiple-choice items from the JSON-lines shapes benchmark data comes in, turned into the prompt
// and choices lm-evaluation-harness's task definitions score (context + " " + choice):
//   native     {"question", "choices": [...], "answer": index}        context = question
//   arc        ARC as published {"question": {"stem", "choices": [{"text", "label"}]}, "answerKey"}
//              or as on the HF hub {"question", "choices": {"text": [...], "label": [...]}, "answerKey"}
//                                                                       "Question: {q}\nAnswer:"
//   hellaswag  {"activity_label", "ctx_a", "ctx_b" (or "ctx"), "endings", "label"}
//                                                 "{activity}: {ctx_a} {Ctx_b}", [title] markup removed
//   piqa       {"goal", "sol1", "sol2", "label"}                       "Question: {goal}\nAnswer:"
//   mmlu       {"question", "subject", "choices": [4], "answer": index}  the lettered prompt, choices A-D
//   lm-eval    {"context", "choices", "gold"}                          context as given
// "auto" picks by the first line's fields. Errors name the file, line and what is missing.
#include <filesystem>
#include <string>
#include <vector>

#include "hifp8/eval/multiple_choice.h"

namespace hifp8::eval {

std::vector<ChoiceItem> read_benchmark_items(const std::filesystem::path& path, const std::string& format = "auto");

// lm-evaluation-harness's few-shot prompt: `shots` solved examples (context + " " + right choice)
// joined by blank lines before each item's context. The examples are the first `shots` of `examples`
// that are not the item itself (lm-eval samples them with its own seed; fixed ones are reproducible).
std::vector<ChoiceItem> with_fewshot(std::vector<ChoiceItem> items, const std::vector<ChoiceItem>& examples, size_t shots);

}  // namespace hifp8::eval
