#pragma once
// Chat prompts for /v1/chat/completions, `generate --chat` and `tokenize --chat`: the model's own
// chat template (Jinja, from chat_template.jinja or tokenizer_config.json) rendered by hifp8's Jinja
// interpreter exactly as transformers' apply_chat_template renders it; or, for a model without a
// template, one of three built-in formats named explicitly:
//   llama3  <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>   (Llama-3)
//   chatml  <|im_start|>role\ncontent<|im_end|>\n                           (Qwen2/Qwen3, many others)
//   llama2  <s>[INST] <<SYS>>\nsystem\n<</SYS>>\n\nuser [/INST] answer </s>  (Llama-2, Mistral)
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace hifp8::jinja {
class Template;
}

namespace hifp8::model {

enum class ChatFormat { llama3, chatml, llama2 };
ChatFormat parse_chat_format(const std::string& name);  // llama3, chatml, llama2

struct ChatOptions {
  bool add_generation_prompt = true;
  nlohmann::ordered_json tools;                                      // null, or OpenAI tool definitions
  nlohmann::ordered_json variables = nlohmann::ordered_json::object();  // enable_thinking, reasoning_effort, ...
};

class ChatTemplate {
 public:
  // `format` "" takes the model's template (an Error naming the directory when it has none);
  // llama3/chatml/llama2 take a built-in format.
  static ChatTemplate load(const std::filesystem::path& model_dir, const std::string& format = "");
  // The model's template, or nullopt when it has none; a template that does not parse is an Error.
  static std::optional<ChatTemplate> find(const std::filesystem::path& model_dir);

  // `messages` in OpenAI's shape ({role, content, tool_calls, ...}). The text includes the BOS where
  // the template writes one: encode it without adding special tokens again. Errors (the template's
  // raise_exception, a role a built-in format lacks) throw hifp8::Error.
  std::string render(const nlohmann::ordered_json& messages, const ChatOptions& options = {}) const;

  std::string describe() const;  // where the template came from, for logs

 private:
  std::optional<ChatFormat> builtin_;
  std::map<std::string, std::shared_ptr<const jinja::Template>> templates_;  // "default", "tool_use", ...
  nlohmann::ordered_json special_tokens_ = nlohmann::ordered_json::object();  // bos_token, eos_token, ...
  bool content_parts_ = false;  // the template loops over a message's content parts
  std::string source_;
};

}  // namespace hifp8::model
