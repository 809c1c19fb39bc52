#include "hifp8/eval/benchmark_items.h"

#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "hifp8/error.h"

namespace hifp8::eval {
namespace {

using nlohmann::json;

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\n\r"), e = s.find_last_not_of(" \t\n\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// lm-eval's hellaswag preprocess: " [title]" becomes ". ", other [markup] goes, double spaces single.
std::string hellaswag_clean(std::string text) {
  text = trim(text);
  for (size_t at = text.find(" [title]"); at != std::string::npos; at = text.find(" [title]", at)) text.replace(at, 8, ". ");
  text = std::regex_replace(text, std::regex(R"(\[.*?\])"), "");
  for (size_t at = text.find("  "); at != std::string::npos; at = text.find("  ", at)) text.replace(at, 2, " ");
  return text;
}

size_t label_index(const json& label, const std::vector<std::string>& labels) {
  if (label.is_number_integer()) return label.get<size_t>();
  const std::string l = label.get<std::string>();
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] == l) return i;
  if (!l.empty() && std::all_of(l.begin(), l.end(), ::isdigit)) return std::stoul(l);  // "0".."3"
  throw Error("answer '" + l + "' is not one of the choice labels");
}

std::string detect(const json& j) {
  if (j.contains("context") && j.contains("gold")) return "lm-eval";
  if (j.contains("endings")) return "hellaswag";
  if (j.contains("goal") && j.contains("sol1")) return "piqa";
  if (j.contains("answerKey")) return "arc";
  if (j.contains("subject")) return "mmlu";
  if (j.contains("question") && j.contains("choices") && j.contains("answer")) return "native";
  throw Error("no known benchmark shape (native, arc, hellaswag, piqa, mmlu, lm-eval): give --format");
}

ChoiceItem parse(const json& j, const std::string& format) {
  ChoiceItem item;
  if (format == "native") {
    item = {j.at("question").get<std::string>(), j.at("choices").get<std::vector<std::string>>(), j.at("answer").get<size_t>()};
  } else if (format == "lm-eval") {
    item = {j.at("context").get<std::string>(), j.at("choices").get<std::vector<std::string>>(), j.at("gold").get<size_t>()};
  } else if (format == "arc") {
    std::string question;
    std::vector<std::string> labels;
    if (j.at("question").is_object()) {  // as published: question.stem, question.choices[{text, label}]
      question = j["question"].at("stem").get<std::string>();
      for (const json& c : j["question"].at("choices")) {
        item.choices.push_back(c.at("text").get<std::string>());
        labels.push_back(c.at("label").get<std::string>());
      }
    } else {  // the HF hub's: choices {text: [...], label: [...]}
      question = j.at("question").get<std::string>();
      item.choices = j.at("choices").at("text").get<std::vector<std::string>>();
      labels = j.at("choices").at("label").get<std::vector<std::string>>();
    }
    item.question = "Question: " + question + "\nAnswer:";
    item.answer = label_index(j.at("answerKey"), labels);
  } else if (format == "hellaswag") {
    std::string ctx_b = j.value("ctx_b", "");
    if (!ctx_b.empty()) ctx_b[0] = char(std::toupper(static_cast<unsigned char>(ctx_b[0])));
    const std::string ctx = j.contains("ctx_a") ? j["ctx_a"].get<std::string>() + " " + ctx_b : j.at("ctx").get<std::string>();
    item.question = hellaswag_clean(j.value("activity_label", "") + ": " + ctx);
    for (const json& e : j.at("endings")) item.choices.push_back(hellaswag_clean(e.get<std::string>()));
    item.answer = label_index(j.at("label"), {});
  } else if (format == "piqa") {
    item.question = "Question: " + j.at("goal").get<std::string>() + "\nAnswer:";
    item.choices = {j.at("sol1").get<std::string>(), j.at("sol2").get<std::string>()};
    item.answer = label_index(j.at("label"), {});
  } else if (format == "mmlu") {
    std::string subject = j.value("subject", "");
    std::replace(subject.begin(), subject.end(), '_', ' ');
    const auto choices = j.at("choices").get<std::vector<std::string>>();
    if (choices.size() != 4) throw Error("an MMLU item has four choices");
    std::string prompt = "The following are multiple choice questions (with answers) about " + subject + ".\n\n" +
                         trim(j.at("question").get<std::string>());
    for (size_t i = 0; i < 4; ++i) prompt += std::string("\n") + char('A' + i) + ". " + choices[i];
    item = {prompt + "\nAnswer:", {"A", "B", "C", "D"}, j.at("answer").get<size_t>()};
  } else {
    throw Error("unknown benchmark format '" + format + "' (auto, native, arc, hellaswag, piqa, mmlu, lm-eval)");
  }
  if (item.choices.size() < 2) throw Error("needs at least two choices");
  if (item.answer >= item.choices.size()) throw Error("answer index is out of range");
  return item;
}

}  // namespace

std::vector<ChoiceItem> read_benchmark_items(const std::filesystem::path& path, const std::string& format) {
  std::ifstream in(path);
  if (!in) throw Error("cannot read tasks file " + path.string());
  std::vector<ChoiceItem> items;
  std::string line, chosen = format;
  for (size_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path.string() + ":" + std::to_string(number) + ": ";
    try {
      const json j = json::parse(line);
      if (chosen == "auto") chosen = detect(j);
      items.push_back(parse(j, chosen));
    } catch (const json::exception& e) {
      throw Error(where + "not a " + chosen + " item (" + e.what() + ")");
    } catch (const Error& e) {
      throw Error(where + e.what());
    }
  }
  if (items.empty()) throw Error(path.string() + " has no items");
  return items;
}

std::vector<ChoiceItem> with_fewshot(std::vector<ChoiceItem> items, const std::vector<ChoiceItem>& examples, size_t shots) {
  if (shots == 0) return items;
  for (ChoiceItem& item : items) {
    std::string prefix;
    size_t used = 0;
    for (const ChoiceItem& ex : examples) {
      if (used == shots) break;
      if (ex.question == item.question) continue;  // never the item itself
      prefix += ex.question + " " + ex.choices[ex.answer] + "\n\n";
      ++used;
    }
    if (used < shots) throw Error("only " + std::to_string(used) + " few-shot examples for " + std::to_string(shots) + " shots");
    item.question = prefix + item.question;
  }
  return items;
}

}  // namespace hifp8::eval
