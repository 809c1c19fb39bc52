// libFuzzer harness for the server's request layer: any body for /v1/completions or
// /v1/chat/completions (the first byte picks which) parses to a request or an ApiError; an accepted
// chat is rendered in every built-in format (an Error is a 400), the budget is checked, and the
// response bodies serialize to valid UTF-8 JSON. Never another exception or a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "hifp8/error.h"
#include "hifp8/model/chat_template.h"
#include "hifp8/serve/openai_api.h"

using namespace hifp8;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool chat = data[0] & 1;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto parsed = serve::parse_generation_request(body, chat, 512);
  if (std::holds_alternative<serve::ApiError>(parsed)) {
    (void)std::get<serve::ApiError>(parsed).to_json().dump();
    return 0;
  }
  const serve::GenerationRequest& r = std::get<serve::GenerationRequest>(parsed);
  for (const char* format : {"llama3", "chatml", "llama2"}) {
    try {
      if (chat) (void)model::ChatTemplate::load("", format).render(r.messages);
    } catch (const Error&) {
    }
  }
  const int64_t prompt = chat ? int64_t(r.messages.size()) * 4 : 8;
  auto budget = serve::completion_budget(r, prompt, {0, 0, 512});
  if (std::holds_alternative<serve::ApiError>(budget)) return 0;
  const std::string text = r.stop.empty() ? "x" : r.stop.front();
  const std::vector<serve::TokenLogprob> scored = {{text, std::nullopt, {}}, {text, -1.5f, {{text, -1.5f}}}};
  const std::vector<serve::Choice> choices = {{text, "stop", chat ? serve::chat_logprobs(scored) : serve::completion_logprobs(scored, 0)}};
  (void)serve::completion_response("id", r.model, 0, chat, choices, {prompt, 1}).dump();
  (void)serve::completion_chunk("id", r.model, 0, chat, text, "", true).dump();
  (void)serve::find_stop(text + text, r.stop);
  return 0;
}
