// hifp8 tokenize / hifp8 detokenize: the model's tokenizer alone, without its weights (a directory
// with only tokenizer files works), as llama.cpp's llama-tokenize.
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "hifp8/error.h"
#include "hifp8/io/file_bytes.h"
#include "hifp8/io/token_file.h"
#include "hifp8/model/chat_template.h"
#include "hifp8/model/tokenizer.h"

namespace hifp8::cli {
namespace {

struct TokenizeArgs {
  std::string model, text, file, chat, chat_format, ids;
  bool ids_only = false, json = false, no_special = false, add_generation_prompt = false, print_text = false;
  bool skip_special = false;
};

// A chat from a JSON file: a list of OpenAI-style messages, or an object with "messages", optional
// "tools", and any other keys as chat-template variables ({"enable_thinking": false, ...}).
std::pair<nlohmann::ordered_json, model::ChatOptions> read_chat(const std::string& path) {
  const auto j = nlohmann::ordered_json::parse(io::read_file(path), nullptr, false);
  if (j.is_discarded()) throw Error(path + ": not valid JSON");
  model::ChatOptions options;
  if (j.is_array()) return {j, options};
  if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array())
    throw Error(path + ": expected a list of messages or an object with a \"messages\" list");
  for (const auto& [k, v] : j.items()) {
    if (k == "tools") options.tools = v;
    else if (k != "messages") options.variables[k] = v;
  }
  return {j["messages"], options};
}

void run_tokenize(const TokenizeArgs& a) {
  if (int(!a.text.empty()) + int(!a.file.empty()) + int(!a.chat.empty()) != 1)
    throw Error("give exactly one of --text, --file and --chat");
  const auto tok = model::Tokenizer::load(a.model);
  std::string text = a.text;
  bool add_special = !a.no_special;
  if (!a.file.empty()) text = io::read_file(a.file);
  if (!a.chat.empty()) {
    auto [messages, options] = read_chat(a.chat);
    options.add_generation_prompt = a.add_generation_prompt;
    text = model::ChatTemplate::load(a.model, a.chat_format).render(messages, options);
    add_special = false;  // the rendered prompt carries its own BOS, as transformers' apply_chat_template
    if (a.print_text) {
      std::fputs(text.c_str(), stdout);
      return;
    }
  }
  const std::vector<int32_t> ids = tok->encode(text, add_special);
  if (a.json) {
    nlohmann::json pieces = nlohmann::json::array();
    for (int32_t id : ids) pieces.push_back(tok->piece(id));
    std::printf("%s\n", nlohmann::json{{"ids", ids}, {"tokens", pieces}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else if (a.ids_only) {
    for (size_t i = 0; i < ids.size(); ++i) std::printf(i ? " %d" : "%d", ids[i]);
    std::printf("\n");
  } else {
    for (int32_t id : ids)  // one line a token: its id and its spelling, quoted as a JSON string
      std::printf("%6d %s\n", id, nlohmann::json(tok->piece(id)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
}

void run_detokenize(const TokenizeArgs& a) {
  const std::vector<int32_t> ids = parse_token_ids(a.ids, "--ids");
  const auto tok = model::Tokenizer::load(a.model);
  std::printf("%s\n", tok->decode(ids, a.skip_special).c_str());
}

}  // namespace

std::vector<int32_t> parse_token_ids(const std::string& text, const std::string& option) {
  std::vector<int32_t> ids;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    const std::optional<int32_t> id = io::parse_token_id(item);
    if (!id) throw Error(option + ": '" + item + "' is not a token id (expected e.g. 1,2,3)");
    ids.push_back(*id);
  }
  if (ids.empty()) throw Error(option + ": no token ids");
  return ids;
}

void add_tokenize_commands(CLI::App& app) {
  auto t = std::make_shared<TokenizeArgs>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Text to token ids with a model's tokenizer (no weights needed)");
  cmd->add_option("--model", t->model, "Model directory (tokenizer.json or tokenizer.model)")->required();
  cmd->add_option("--text", t->text, "The text");
  cmd->add_option("--file", t->file, "A file with the text (UTF-8)");
  cmd->add_option("--chat", t->chat, "A JSON file: OpenAI-style messages, or {\"messages\", \"tools\", template variables}, rendered with the model's chat template");
  cmd->add_option("--chat-format", t->chat_format, "A built-in format instead of the model's template: llama3, chatml or llama2");
  cmd->add_flag("--add-generation-prompt", t->add_generation_prompt, "With --chat: end with the assistant's turn header");
  cmd->add_flag("--print-text", t->print_text, "With --chat: print the rendered prompt instead of its ids");
  cmd->add_flag("--ids-only", t->ids_only, "Print only the ids, space-separated");
  cmd->add_flag("--json", t->json, "Print {\"ids\": [...], \"tokens\": [...]}");
  cmd->add_flag("--no-special", t->no_special, "Do not add BOS/EOS as the tokenizer's config says");
  cmd->callback([t] { run_tokenize(*t); });

  auto d = std::make_shared<TokenizeArgs>();
  CLI::App* dec = app.add_subcommand("detokenize", "Token ids to text with a model's tokenizer (no weights needed)");
  dec->add_option("--model", d->model, "Model directory (tokenizer.json or tokenizer.model)")->required();
  dec->add_option("--ids", d->ids, "Token ids, e.g. 1,2,3")->required();
  dec->add_flag("--skip-special", d->skip_special, "Leave special tokens out of the text");
  dec->callback([d] { run_detokenize(*d); });
}

}  // namespace hifp8::cli
