#include "hifp8/model/chat_template.h"

#include <regex>

#include "hifp8/error.h"
#include "hifp8/io/file_bytes.h"
#include "hifp8/jinja/template.h"

namespace hifp8::model {
namespace {

using nlohmann::ordered_json;

struct Turn {
  std::string role;
  std::string content;
};

// A built-in format takes plain text turns: content a string, or text parts joined by newlines (as vLLM).
std::vector<Turn> plain_turns(const ordered_json& messages, bool tool_allowed) {
  std::vector<Turn> turns;
  for (const auto& m : messages) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) throw Error("each chat message needs a string 'role'");
    Turn t{m["role"].get<std::string>(), ""};
    if (!(t.role == "system" || t.role == "user" || t.role == "assistant" || (t.role == "tool" && tool_allowed)))
      throw Error("chat message role '" + t.role + "' is not one of system, user, assistant" + (tool_allowed ? ", tool" : ""));
    const ordered_json content = m.value("content", ordered_json());
    if (content.is_string()) t.content = content.get<std::string>();
    else if (content.is_array())
      for (const auto& part : content) {
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
          throw Error("the built-in chat formats take only text content parts");
        t.content += (t.content.empty() ? "" : "\n") + part["text"].get<std::string>();
      }
    else if (!content.is_null()) throw Error("chat message content must be a string or an array of text parts");
    turns.push_back(std::move(t));
  }
  return turns;
}

std::string render_llama2(const std::vector<Turn>& turns) {
  std::string out, system;
  size_t i = 0;
  if (!turns.empty() && turns[0].role == "system") system = turns[i++].content;
  bool open = false;  // an [INST] waiting for its answer
  for (; i < turns.size(); ++i) {
    const Turn& m = turns[i];
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
  return out;  // an open [INST] ... [/INST] already asks for the answer
}

std::string render_builtin(ChatFormat format, const ordered_json& messages, bool add_generation_prompt) {
  // Tool results: Llama 3.1's template calls that role "ipython"; ChatML keeps "tool". Llama 2 has none.
  const std::vector<Turn> turns = plain_turns(messages, format != ChatFormat::llama2);
  std::string out;
  switch (format) {
    case ChatFormat::llama3:
      out = "<|begin_of_text|>";
      for (const Turn& m : turns)
        out += "<|start_header_id|>" + (m.role == "tool" ? std::string("ipython") : m.role) + "<|end_header_id|>\n\n" + m.content + "<|eot_id|>";
      if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      return out;
    case ChatFormat::chatml:
      for (const Turn& m : turns) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      return out;
    case ChatFormat::llama2: return render_llama2(turns);
  }
  return out;
}

// transformers passes the tokenizer's special tokens (as text) to the template.
ordered_json special_tokens_of(const ordered_json& config) {
  auto text = [](const ordered_json& t) { return t.is_object() ? t.value("content", ordered_json()) : t; };
  ordered_json out = ordered_json::object();
  for (const char* key : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"})
    if (config.contains(key) && !text(config[key]).is_null()) out[key] = text(config[key]);
  if (config.contains("additional_special_tokens") && config["additional_special_tokens"].is_array() &&
      !config["additional_special_tokens"].empty()) {
    ordered_json list = ordered_json::array();
    for (const auto& t : config["additional_special_tokens"]) list.push_back(text(t));
    out["additional_special_tokens"] = list;
  }
  return out;
}

// A template written for string content prints a list of parts as Python's repr; as vLLM does, such
// a template gets text parts joined by newlines, and one that loops over `content` gets the parts.
bool iterates_content(const std::string& source) {
  static const std::regex loop(R"(for\s+\w+\s+in\s+\w+\s*(\.content|\[\s*['"]content['"]\s*\]))");
  return std::regex_search(source, loop);
}

ordered_json with_text_content(const ordered_json& messages) {
  ordered_json out = messages;
  for (auto& m : out)
    if (m.is_object() && m.contains("content") && m["content"].is_array()) {
      std::string text;
      for (const auto& part : m["content"])
        if (part.is_object() && part.value("type", ordered_json()) == "text" && part.contains("text") && part["text"].is_string())
          text += (text.empty() ? "" : "\n") + part["text"].get<std::string>();
      m["content"] = text;
    }
  return out;
}

std::shared_ptr<const jinja::Template> compile(const std::string& source, const std::string& where) {
  try {
    return std::make_shared<const jinja::Template>(source);
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
}

}  // namespace

ChatFormat parse_chat_format(const std::string& name) {
  if (name == "llama3") return ChatFormat::llama3;
  if (name == "chatml") return ChatFormat::chatml;
  if (name == "llama2") return ChatFormat::llama2;
  throw Error("unknown chat format '" + name + "' (llama3, chatml, llama2)");
}

ChatTemplate ChatTemplate::load(const std::filesystem::path& dir, const std::string& format) {
  if (!format.empty()) {
    ChatTemplate t;
    t.builtin_ = parse_chat_format(format);
    t.source_ = "built-in " + format + " format";
    return t;
  }
  std::optional<ChatTemplate> t = find(dir);
  if (!t)
    throw Error(dir.string() + " has no chat template (chat_template.jinja or tokenizer_config.json chat_template); "
                "pass a built-in format (--chat-format llama3|chatml|llama2)");
  return std::move(*t);
}

std::optional<ChatTemplate> ChatTemplate::find(const std::filesystem::path& dir) {
  ChatTemplate t;
  const std::filesystem::path config_path = dir / "tokenizer_config.json", jinja_path = dir / "chat_template.jinja";
  ordered_json config = ordered_json::object();
  if (std::filesystem::exists(config_path)) {
    try {
      config = ordered_json::parse(io::read_file(config_path));
    } catch (const nlohmann::json::exception& e) {
      throw Error(config_path.string() + ": not valid JSON (" + e.what() + ")");
    }
    if (!config.is_object()) throw Error(config_path.string() + ": not a JSON object");
    t.special_tokens_ = special_tokens_of(config);
  }
  // Newer checkpoints keep the template in chat_template.jinja; transformers prefers it.
  if (std::filesystem::exists(jinja_path)) {
    const std::string source = io::read_file(jinja_path);
    t.templates_["default"] = compile(source, jinja_path.string());
    t.content_parts_ = iterates_content(source);
    t.source_ = jinja_path.string();
    return t;
  }
  const ordered_json ct = config.value("chat_template", ordered_json());
  if (ct.is_string()) {
    t.templates_["default"] = compile(ct.get<std::string>(), config_path.string() + " chat_template");
    t.content_parts_ = iterates_content(ct.get<std::string>());
  } else if (ct.is_array()) {
    for (const auto& named : ct) {
      if (!named.is_object() || !named.contains("name") || !named["name"].is_string() || !named.contains("template") || !named["template"].is_string())
        throw Error(config_path.string() + ": chat_template list entries need string 'name' and 'template'");
      const std::string name = named["name"].get<std::string>(), source = named["template"].get<std::string>();
      t.templates_[name] = compile(source, config_path.string() + " chat_template '" + name + "'");
      t.content_parts_ = t.content_parts_ || iterates_content(source);
    }
  } else if (!ct.is_null()) {
    throw Error(config_path.string() + ": chat_template must be a string or a list of named templates");
  }
  if (t.templates_.empty()) return std::nullopt;
  t.source_ = config_path.string() + " chat_template";
  return t;
}

std::string ChatTemplate::render(const ordered_json& messages, const ChatOptions& options) const {
  if (!messages.is_array()) throw Error("chat messages must be a JSON array");
  if (builtin_) return render_builtin(*builtin_, messages, options.add_generation_prompt);
  const bool with_tools = options.tools.is_array() && !options.tools.empty();
  auto it = with_tools && templates_.count("tool_use") ? templates_.find("tool_use") : templates_.find("default");
  if (it == templates_.end()) throw Error(source_ + " has no template named 'default'");
  ordered_json context = special_tokens_;
  for (const auto& [k, v] : options.variables.items()) context[k] = v;
  context["messages"] = content_parts_ ? messages : with_text_content(messages);
  // As transformers' render_jinja_template: tools and documents always defined, None when absent.
  context["tools"] = options.tools;
  context["documents"] = nullptr;
  context["add_generation_prompt"] = options.add_generation_prompt;
  return it->second->render(context);
}

std::string ChatTemplate::describe() const { return source_; }

}  // namespace hifp8::model
