#pragma once
// Chat prompts for /v1/chat/completions and `generate --chat`. Rather than a Jinja interpreter, the
// three prompt formats that cover the supported families are built in, and the model's
// tokenizer_config.json chat_template picks one by its marker tokens:
//   llama3  <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>   (Llama-3)
//   chatml  <|im_start|>role\ncontent<|im_end|>\n                           (Qwen2/Qwen3, many others)
//   llama2  <s>[INST] <<SYS>>\nsystem\n<</SYS>>\n\nuser [/INST] answer </s>  (Llama-2, Mistral)
#include <filesystem>
#include <string>
#include <vector>

namespace hifp8::model {

enum class ChatFormat { llama3, chatml, llama2 };

struct ChatMessage {
  std::string role;  // system, user, assistant
  std::string content;
};

ChatFormat parse_chat_format(const std::string& name);  // llama3, chatml, llama2
// From tokenizer_config.json's chat_template; Error naming the file if it has none or an unknown one.
ChatFormat detect_chat_format(const std::filesystem::path& model_dir);

// The prompt text, ending with the assistant header when add_generation_prompt. It includes the
// BOS text where the format has one, so encode it without adding special tokens again.
std::string render_chat(ChatFormat format, const std::vector<ChatMessage>& messages, bool add_generation_prompt = true);

}  // namespace hifp8::model
