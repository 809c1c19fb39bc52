#pragma once
// The OpenAI-compatible API's data layer for `hifp8 serve`: request bodies parsed and validated into
// plain structs, errors in OpenAI's JSON shape with their HTTP status, and the response / stream-chunk
// bodies. No I/O here: the HTTP server (serve/server.h) moves these between sockets and the engine.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "hifp8/model/chat_template.h"
#include "hifp8/model/sampler.h"

namespace hifp8::serve {

// An error as OpenAI returns it: {"error": {"message", "type", "param", "code"}} with an HTTP status.
struct ApiError {
  int status = 400;
  std::string type = "invalid_request_error";  // invalid_request_error, authentication_error, ...
  std::string message;
  std::string param;  // the offending field, or empty
  std::string code;   // e.g. "invalid_api_key", "model_not_found", or empty

  nlohmann::json to_json() const;
  static ApiError bad_request(std::string message, std::string param = "");
};

struct Limits {
  int64_t max_prompt_tokens = 0;  // 0: the model's context
  int64_t max_tokens = 0;         // 0: the model's context
  int64_t context = 0;            // prompt + completion must fit
  int64_t default_max_tokens = 16;  // a request without max_tokens (OpenAI's 16); 0: as many as fit

  // The longest prompt taken: max_prompt_tokens, and at least one position left for the completion.
  int64_t prompt_limit() const { return std::min(max_prompt_tokens > 0 ? max_prompt_tokens : context, context - 1); }
};

// A /v1/completions prompt: text, or token ids.
using Prompt = std::variant<std::string, std::vector<int32_t>>;

// What a completion or chat request asks for, validated (ranges, types, n == 1).
struct GenerationRequest {
  std::string model;
  // /v1/completions: one or more prompts (each answered by its own choice); /v1/chat/completions: messages.
  std::vector<Prompt> prompts;
  nlohmann::ordered_json messages;  // OpenAI-style messages as sent (key order kept for the template)
  nlohmann::ordered_json tools;     // null, or the request's tool definitions, passed to the chat template
  // Further chat-template variables (vLLM's chat_template_kwargs), e.g. {"enable_thinking": false}.
  nlohmann::ordered_json chat_template_kwargs = nlohmann::ordered_json::object();
  size_t message_text_bytes = 0;    // the text of all messages: a lower bound on the prompt's size
  bool chat = false;
  std::optional<int64_t> max_tokens;  // unset: up to the context
  model::SamplingOptions sampling;    // temperature (default 1, as OpenAI), top_p, top_k (extension), seed
  std::vector<std::string> stop;      // up to 4 strings
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool echo = false;           // completions: the prompt's tokens lead the text (and the log-probs)
  // Set: return each token's log-prob and this many most likely alternatives (completions `logprobs`;
  // chat `logprobs: true` with `top_logprobs`). Not with stream.
  std::optional<int> logprobs;
};

// Parses a request body for /v1/completions (chat = false) or /v1/chat/completions (chat = true).
// Returns the request or the ApiError to send (malformed JSON, a wrong type, a value out of range,
// an unsupported option such as n > 1). Token ids are checked against `vocab` when it is > 0.
std::variant<GenerationRequest, ApiError> parse_generation_request(const std::string& body, bool chat, int64_t vocab);

// Checks the prompt length and max_tokens against the limits once the prompt is tokenized; returns
// the number of tokens to generate at most.
std::variant<int64_t, ApiError> completion_budget(const GenerationRequest& request, int64_t prompt_tokens,
                                                  const Limits& limits);

struct Usage {
  int64_t prompt_tokens = 0, completion_tokens = 0;
  nlohmann::json to_json() const;
};

// One answer of a response: its text, "stop" or "length", and its log-probs object (null when not asked).
struct Choice {
  std::string text, finish_reason;
  nlohmann::json logprobs;
};

// A token's log-prob and its most likely alternatives, as the log-probs objects list them.
struct TokenLogprob {
  std::string token;
  std::optional<float> logprob;  // none: the first prompt token (nothing predicts it)
  std::vector<std::pair<std::string, float>> top;
};
// OpenAI's shapes: completions {tokens, token_logprobs, top_logprobs, text_offset} (offsets in
// characters from `offset`), chat {content: [{token, logprob, bytes, top_logprobs}]}.
nlohmann::json completion_logprobs(const std::vector<TokenLogprob>& tokens, int64_t offset);
nlohmann::json chat_logprobs(const std::vector<TokenLogprob>& tokens);

// Response bodies. `finish_reason` is "stop" or "length" (or empty in a stream chunk before the end).
nlohmann::json completion_response(const std::string& id, const std::string& model, int64_t created, bool chat,
                                   const std::vector<Choice>& choices, const Usage& usage);
nlohmann::json completion_chunk(const std::string& id, const std::string& model, int64_t created, bool chat,
                                const std::string& text, const std::string& finish_reason, bool first);
nlohmann::json models_response(const std::string& model, int64_t created);

// The first position in `text` where any stop string starts, or npos.
size_t find_stop(const std::string& text, const std::vector<std::string>& stop);

}  // namespace hifp8::serve
