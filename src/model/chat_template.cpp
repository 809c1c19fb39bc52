#include "hifp8/model/chat_template.h"

#include "hifp8/error.h"
#include "hifp8/io/checkpoint.h"

namespace hifp8::model {
namespace {

void check_role(const ChatMessage& m, bool tool_allowed) {
  if (m.role == "tool" && tool_allowed) return;
  if (m.role != "system" && m.role != "user" && m.role != "assistant")
    throw Error("chat message role '" + m.role + "' is not one of system, user, assistant" + (tool_allowed ? ", tool" : ""));
}

std::string render_llama2(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  std::string out, system;
  size_t i = 0;
  if (!messages.empty() && messages[0].role == "system") system = messages[i++].content;
  bool open = false;  // an [INST] waiting for its answer
  for (; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "system") throw Error("llama2 chat format: a system message may only come first");
    if (m.role == "user") {
      if (open) throw Error("llama2 chat format: two user messages in a row");
      out += "<s>[INST] ";
      if (!system.empty()) out += "<<SYS>>\n" + system + "\n<</SYS>>\n\n", system.clear();
      out += m.content + " [/INST]";
      open = true;
    } else {
      if (!open) throw Error("llama2 chat format: an assistant message must follow a user message");
      out += " " + m.content + " </s>";
      open = false;
    }
  }
  (void)add_generation_prompt;  // the open [INST] ... [/INST] already asks for the answer
  return out;
}

}  // namespace

ChatFormat parse_chat_format(const std::string& name) {
  if (name == "llama3") return ChatFormat::llama3;
  if (name == "chatml") return ChatFormat::chatml;
  if (name == "llama2") return ChatFormat::llama2;
  throw Error("unknown chat format '" + name + "' (llama3, chatml, llama2)");
}

ChatFormat detect_chat_format(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / "tokenizer_config.json";
  if (!std::filesystem::exists(path)) throw Error("no tokenizer_config.json in " + dir.string() + " to take a chat template from");
  const nlohmann::json c = io::read_json_file(path);
  std::string t;
  if (c.contains("chat_template") && c["chat_template"].is_string()) t = c["chat_template"].get<std::string>();
  else if (c.contains("chat_template") && c["chat_template"].is_array() && !c["chat_template"].empty())
    t = c["chat_template"][0].value("template", "");  // named templates: the first ("default")
  if (t.empty()) throw Error(path.string() + " has no chat_template (pass the format explicitly)");
  if (t.find("<|start_header_id|>") != std::string::npos) return ChatFormat::llama3;
  if (t.find("<|im_start|>") != std::string::npos) return ChatFormat::chatml;
  if (t.find("[INST]") != std::string::npos) return ChatFormat::llama2;
  throw Error(path.string() + ": chat_template is not one of the built-in formats (llama3, chatml, llama2)");
}

std::string render_chat(ChatFormat format, const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  // Tool results: Llama 3.1's template calls that role "ipython"; ChatML keeps "tool". Llama 2 has none.
  for (const ChatMessage& m : messages) check_role(m, format != ChatFormat::llama2);
  std::string out;
  switch (format) {
    case ChatFormat::llama3:
      out = "<|begin_of_text|>";
      for (const ChatMessage& m : messages)
        out += "<|start_header_id|>" + (m.role == "tool" ? std::string("ipython") : m.role) + "<|end_header_id|>\n\n" + m.content + "<|eot_id|>";
      if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      return out;
    case ChatFormat::chatml:
      for (const ChatMessage& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      return out;
    case ChatFormat::llama2: return render_llama2(messages, add_generation_prompt);
  }
  return out;
}

}  // namespace hifp8::model
