#include "hifp8/serve/openai_api.h"

#include <cmath>
#include <limits>

#include "hifp8/model/utf8.h"

namespace hifp8::serve {
namespace {

using nlohmann::json;

// A field that must have one JSON type when present; the error names it and what it should be.
struct Field {
  const json& body;
  const char* name;
  bool present() const { return body.contains(name) && !body[name].is_null(); }
  const json& value() const { return body[name]; }
};

ApiError wrong_type(const char* name, const char* expected) {
  return ApiError::bad_request(std::string("'") + name + "' must be " + expected, name);
}

std::optional<ApiError> read_number(const Field& f, double lo, double hi, double& out) {
  if (!f.present()) return std::nullopt;
  if (!f.value().is_number()) return wrong_type(f.name, "a number");
  const double v = f.value().get<double>();
  if (!std::isfinite(v) || v < lo || v > hi)
    return ApiError::bad_request(std::string("'") + f.name + "' must be between " + json(lo).dump() + " and " +
                                     json(hi).dump(),
                                 f.name);
  out = v;
  return std::nullopt;
}

std::optional<ApiError> read_integer(const Field& f, int64_t lo, int64_t hi, std::optional<int64_t>& out) {
  if (!f.present()) return std::nullopt;
  if (!f.value().is_number_integer()) return wrong_type(f.name, "an integer");
  if (f.value().is_number_unsigned() && f.value().get<uint64_t>() > uint64_t(hi))
    return ApiError::bad_request(std::string("'") + f.name + "' is too large", f.name);
  const int64_t v = f.value().get<int64_t>();
  if (v < lo || v > hi)
    return ApiError::bad_request(std::string("'") + f.name + "' must be between " + std::to_string(lo) + " and " +
                                     std::to_string(hi),
                                 f.name);
  out = v;
  return std::nullopt;
}

// Prompts in one request: lm-eval-harness batches its scoring requests this way.
constexpr size_t kMaxPrompts = 256;

std::optional<ApiError> read_token_ids(const json& p, int64_t vocab, std::vector<int32_t>& ids) {
  if (!p.is_array() || p.empty()) return wrong_type("prompt", "a string, an array of token ids, or an array of those");
  for (const json& t : p) {
    if (!t.is_number_integer()) return wrong_type("prompt", "a string or an array of integer token ids");
    const int64_t id = t.get<int64_t>();
    if (id < 0 || (vocab > 0 && id >= vocab))
      return ApiError::bad_request("token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                                       std::to_string(vocab - 1) + ")",
                                   "prompt");
    ids.push_back(int32_t(id));
  }
  return std::nullopt;
}

// A string, an array of token ids, or an array of strings / token-id arrays (one choice each).
std::optional<ApiError> read_prompt(const json& body, int64_t vocab, GenerationRequest& r) {
  const Field f{body, "prompt"};
  if (!f.present()) return ApiError::bad_request("'prompt' is required", "prompt");
  const json& p = f.value();
  if (p.is_string()) {
    r.prompts.emplace_back(p.get<std::string>());
    return std::nullopt;
  }
  if (p.is_array() && !p.empty() && (p[0].is_string() || p[0].is_array())) {
    if (p.size() > kMaxPrompts) return ApiError::bad_request("at most " + std::to_string(kMaxPrompts) + " prompts in one request", "prompt");
    for (const json& one : p) {
      if (one.is_string()) {
        r.prompts.emplace_back(one.get<std::string>());
        continue;
      }
      std::vector<int32_t> ids;
      if (auto e = read_token_ids(one, vocab, ids)) return e;
      r.prompts.emplace_back(std::move(ids));
    }
    return std::nullopt;
  }
  std::vector<int32_t> ids;
  if (auto e = read_token_ids(p, vocab, ids)) return e;
  r.prompts.emplace_back(std::move(ids));
  return std::nullopt;
}

// completions: echo, logprobs N; chat: logprobs true with top_logprobs N. At most 20 alternatives, as OpenAI.
std::optional<ApiError> read_logprobs(const json& body, bool chat, GenerationRequest& r) {
  std::optional<int64_t> top;
  if (chat) {
    const Field want{body, "logprobs"};
    if (want.present() && !want.value().is_boolean()) return wrong_type("logprobs", "a boolean");
    if (auto e = read_integer({body, "top_logprobs"}, 0, 20, top)) return e;
    if (want.present() && want.value().get<bool>()) r.logprobs = int(top.value_or(0));
    else if (top) return ApiError::bad_request("'top_logprobs' needs 'logprobs': true", "top_logprobs");
  } else {
    if (auto e = read_integer({body, "logprobs"}, 0, 20, top)) return e;
    if (top) r.logprobs = int(*top);
    const Field echo{body, "echo"};
    if (echo.present() && !echo.value().is_boolean()) return wrong_type("echo", "a boolean");
    r.echo = echo.present() && echo.value().get<bool>();
  }
  return std::nullopt;
}

// messages, tools and chat_template_kwargs, read from the body parsed keeping key order (the chat
// template may print them with tojson). The order of roles and tool-call fields are the template's to judge.
std::optional<ApiError> read_messages(const nlohmann::ordered_json& body, GenerationRequest& r) {
  if (!body.contains("messages") || body["messages"].is_null()) return ApiError::bad_request("'messages' is required", "messages");
  const nlohmann::ordered_json& messages = body["messages"];
  if (!messages.is_array() || messages.empty()) return wrong_type("messages", "a non-empty array");
  for (const auto& m : messages) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      return ApiError::bad_request("each message needs a string 'role'", "messages");
    const std::string& role = m["role"].get_ref<const std::string&>();
    if (role != "system" && role != "developer" && role != "user" && role != "assistant" && role != "tool")
      return ApiError::bad_request("message role '" + role + "' (expected system, developer, user, assistant or tool)", "messages");
    // content: a string, null (an assistant turn with tool_calls), or OpenAI's array of content parts,
    // of which only text parts are supported.
    const auto content = m.value("content", nlohmann::ordered_json());
    if (content.is_string()) {
      r.message_text_bytes += content.get_ref<const std::string&>().size();
    } else if (content.is_array()) {
      for (const auto& part : content) {
        // (value("type", "") would throw on a non-string type: found by fuzz_openai_request)
        if (!part.is_object() || !part.contains("type") || part["type"] != "text" || !part.contains("text") ||
            !part["text"].is_string())
          return ApiError::bad_request("only text content parts ({\"type\": \"text\", \"text\": ...}) are supported", "messages");
        r.message_text_bytes += part["text"].get_ref<const std::string&>().size();
      }
    } else if (!(content.is_null() && m.contains("tool_calls"))) {
      return ApiError::bad_request("each message needs a 'content' string or array of text parts", "messages");
    }
  }
  r.messages = messages;
  if (body.contains("tools") && !body["tools"].is_null()) {
    if (!body["tools"].is_array()) return wrong_type("tools", "an array");
    r.tools = body["tools"];
  }
  if (body.contains("chat_template_kwargs") && !body["chat_template_kwargs"].is_null()) {
    if (!body["chat_template_kwargs"].is_object()) return wrong_type("chat_template_kwargs", "an object");
    for (const auto& [k, v] : body["chat_template_kwargs"].items())
      if (k == "messages" || k == "tools" || k == "add_generation_prompt")
        return ApiError::bad_request("chat_template_kwargs may not set '" + k + "'", "chat_template_kwargs");
    r.chat_template_kwargs = body["chat_template_kwargs"];
  }
  return std::nullopt;
}

std::optional<ApiError> read_stop(const json& body, GenerationRequest& r) {
  const Field f{body, "stop"};
  if (!f.present()) return std::nullopt;
  if (f.value().is_string()) {
    r.stop.push_back(f.value().get<std::string>());
  } else if (f.value().is_array() && f.value().size() <= 4) {
    for (const json& s : f.value()) {
      if (!s.is_string()) return wrong_type("stop", "a string or an array of up to 4 strings");
      r.stop.push_back(s.get<std::string>());
    }
  } else {
    return wrong_type("stop", "a string or an array of up to 4 strings");
  }
  for (const std::string& s : r.stop)
    if (s.empty()) return ApiError::bad_request("'stop' strings must not be empty", "stop");
  return std::nullopt;
}

std::optional<ApiError> read_sampling(const json& body, GenerationRequest& r) {
  double temperature = 1.0, top_p = 1.0;
  if (auto e = read_number({body, "temperature"}, 0.0, 2.0, temperature)) return e;
  if (auto e = read_number({body, "top_p"}, 0.0, 1.0, top_p)) return e;
  if (Field{body, "top_p"}.present() && top_p == 0.0) return ApiError::bad_request("'top_p' must be > 0", "top_p");
  std::optional<int64_t> top_k, seed, n;
  if (auto e = read_integer({body, "top_k"}, 0, std::numeric_limits<int32_t>::max(), top_k)) return e;
  if (auto e = read_integer({body, "seed"}, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), seed))
    return e;
  if (auto e = read_integer({body, "n"}, 1, 1, n)) return e;
  r.sampling.temperature = float(temperature);
  r.sampling.top_p = float(top_p);
  r.sampling.top_k = top_k.value_or(0);
  r.sampling.seed = uint64_t(seed.value_or(0));
  return std::nullopt;
}

}  // namespace

nlohmann::json ApiError::to_json() const {
  return {{"error",
           {{"message", message},
            {"type", type},
            {"param", param.empty() ? json(nullptr) : json(param)},
            {"code", code.empty() ? json(nullptr) : json(code)}}}};
}

ApiError ApiError::bad_request(std::string message, std::string param) {
  return {400, "invalid_request_error", std::move(message), std::move(param), ""};
}

std::variant<GenerationRequest, ApiError> parse_generation_request(const std::string& body_text, bool chat,
                                                                   int64_t vocab) {
  const json body = json::parse(body_text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return ApiError::bad_request("the request body is not valid JSON");
  if (!body.is_object()) return ApiError::bad_request("the request body must be a JSON object");
  GenerationRequest r;
  r.chat = chat;
  const Field model{body, "model"};
  if (model.present() && !model.value().is_string()) return wrong_type("model", "a string");
  if (model.present()) r.model = model.value().get<std::string>();
  if (chat) {
    if (auto e = read_messages(nlohmann::ordered_json::parse(body_text), r)) return *e;
  } else if (auto e = read_prompt(body, vocab, r)) {
    return *e;
  }
  std::optional<int64_t> max_tokens;
  // max_completion_tokens is the chat API's newer name for the same limit.
  if (auto e = read_integer({body, "max_tokens"}, 0, std::numeric_limits<int32_t>::max(), max_tokens)) return *e;
  if (auto e = read_integer({body, "max_completion_tokens"}, 1, std::numeric_limits<int32_t>::max(), max_tokens)) return *e;
  r.max_tokens = max_tokens;
  if (auto e = read_logprobs(body, chat, r)) return *e;
  // max_tokens 0 scores the prompt only: it needs echo (lm-eval-harness's log-likelihood requests).
  if (max_tokens == 0 && !r.echo) return ApiError::bad_request("'max_tokens' must be at least 1 (0 only with 'echo': true)", "max_tokens");
  if (auto e = read_sampling(body, r)) return *e;
  if (auto e = read_stop(body, r)) return *e;
  const Field stream{body, "stream"};
  if (stream.present() && !stream.value().is_boolean()) return wrong_type("stream", "a boolean");
  r.stream = stream.present() && stream.value().get<bool>();
  const Field options{body, "stream_options"};
  if (options.present()) {
    if (!options.value().is_object()) return wrong_type("stream_options", "an object");
    const Field usage{options.value(), "include_usage"};
    if (usage.present() && !usage.value().is_boolean()) return wrong_type("include_usage", "a boolean");
    r.include_usage = usage.present() && usage.value().get<bool>();
  }
  if (r.stream && r.prompts.size() > 1) return ApiError::bad_request("'stream' takes one prompt per request", "prompt");
  if (r.stream && r.logprobs) return ApiError::bad_request("'logprobs' is supported without 'stream'", "logprobs");
  return r;
}

std::variant<int64_t, ApiError> completion_budget(const GenerationRequest& request, int64_t prompt_tokens,
                                                  const Limits& limits) {
  if (prompt_tokens == 0) return ApiError::bad_request("the prompt has no tokens", request.chat ? "messages" : "prompt");
  if (prompt_tokens > limits.prompt_limit())
    return ApiError::bad_request("the prompt has " + std::to_string(prompt_tokens) + " tokens; this server takes at most " +
                                     std::to_string(limits.prompt_limit()),
                                 request.chat ? "messages" : "prompt");
  const int64_t room = limits.context - prompt_tokens;
  const int64_t cap = limits.max_tokens > 0 ? std::min(room, limits.max_tokens) : room;
  if (request.max_tokens && *request.max_tokens > cap)
    return ApiError::bad_request("'max_tokens' is " + std::to_string(*request.max_tokens) + " but at most " +
                                     std::to_string(cap) + " tokens fit after this prompt",
                                 "max_tokens");
  return request.max_tokens.value_or(limits.default_max_tokens > 0 ? std::min(cap, limits.default_max_tokens) : cap);
}

nlohmann::json Usage::to_json() const {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

nlohmann::json completion_logprobs(const std::vector<TokenLogprob>& tokens, int64_t offset) {
  json out = {{"tokens", json::array()}, {"token_logprobs", json::array()}, {"top_logprobs", json::array()}, {"text_offset", json::array()}};
  for (const TokenLogprob& t : tokens) {
    out["tokens"].push_back(t.token);
    out["token_logprobs"].push_back(t.logprob ? json(*t.logprob) : json(nullptr));
    json top = json::object();
    for (const auto& [token, lp] : t.top)
      if (!top.contains(token)) top[token] = lp;  // two ids spelled alike: the likelier one
    out["top_logprobs"].push_back(t.logprob ? top : json(nullptr));
    out["text_offset"].push_back(offset);
    offset += int64_t(model::utf8_length(t.token));
  }
  return out;
}

nlohmann::json chat_logprobs(const std::vector<TokenLogprob>& tokens) {
  auto bytes = [](const std::string& s) {
    json b = json::array();
    for (unsigned char c : s) b.push_back(int(c));
    return b;
  };
  json content = json::array();
  for (const TokenLogprob& t : tokens) {
    json top = json::array();
    for (const auto& [token, lp] : t.top) top.push_back({{"token", token}, {"logprob", lp}, {"bytes", bytes(token)}});
    content.push_back({{"token", t.token}, {"logprob", t.logprob.value_or(0.0f)}, {"bytes", bytes(t.token)}, {"top_logprobs", top}});
  }
  return {{"content", content}};
}

nlohmann::json completion_response(const std::string& id, const std::string& model, int64_t created, bool chat,
                                   const std::vector<Choice>& choices, const Usage& usage) {
  json list = json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    json choice = {{"index", i}, {"finish_reason", choices[i].finish_reason}, {"logprobs", choices[i].logprobs}};
    if (chat) choice["message"] = {{"role", "assistant"}, {"content", choices[i].text}};
    else choice["text"] = choices[i].text;
    list.push_back(choice);
  }
  return {{"id", id},
          {"object", chat ? "chat.completion" : "text_completion"},
          {"created", created},
          {"model", model},
          {"choices", list},
          {"usage", usage.to_json()}};
}

nlohmann::json completion_chunk(const std::string& id, const std::string& model, int64_t created, bool chat,
                                const std::string& text, const std::string& finish_reason, bool first) {
  json choice = {{"index", 0},
                 {"finish_reason", finish_reason.empty() ? json(nullptr) : json(finish_reason)},
                 {"logprobs", nullptr}};
  if (chat) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || finish_reason.empty()) delta["content"] = text;
    choice["delta"] = delta;
  } else {
    choice["text"] = text;
  }
  return {{"id", id},
          {"object", chat ? "chat.completion.chunk" : "text_completion"},
          {"created", created},
          {"model", model},
          {"choices", json::array({choice})}};
}

nlohmann::json models_response(const std::string& model, int64_t created) {
  return {{"object", "list"},
          {"data", json::array({{{"id", model}, {"object", "model"}, {"created", created}, {"owned_by", "hifp8"}}})}};
}

size_t find_stop(const std::string& text, const std::vector<std::string>& stop) {
  size_t first = std::string::npos;
  for (const std::string& s : stop) first = std::min(first, text.find(s));
  return first;
}

}  // namespace hifp8::serve
