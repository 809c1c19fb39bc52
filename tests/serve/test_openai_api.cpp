// The OpenAI API data layer: every malformed or out-of-range request gets a 400 naming the field, good
// requests parse into what the engine needs, and the response bodies have OpenAI's shape.
#include <gtest/gtest.h>

#include <string>

#include "hifp8/serve/openai_api.h"

namespace hifp8::serve {
namespace {

using nlohmann::json;

ApiError error_of(const std::string& body, bool chat = false, int64_t vocab = 100) {
  auto r = parse_generation_request(body, chat, vocab);
  EXPECT_TRUE(std::holds_alternative<ApiError>(r)) << body;
  return std::holds_alternative<ApiError>(r) ? std::get<ApiError>(r) : ApiError{};
}

GenerationRequest request_of(const std::string& body, bool chat = false, int64_t vocab = 100) {
  auto r = parse_generation_request(body, chat, vocab);
  EXPECT_TRUE(std::holds_alternative<GenerationRequest>(r))
      << body << ": " << (std::holds_alternative<ApiError>(r) ? std::get<ApiError>(r).message : "");
  return std::holds_alternative<GenerationRequest>(r) ? std::get<GenerationRequest>(r) : GenerationRequest{};
}

TEST(OpenAiApi, BadRequestsAre400sNamingTheField) {
  struct Case {
    const char* body;
    const char* param;
  };
  const Case cases[] = {
      {R"({"prompt": 5})", "prompt"},
      {R"({"prompt": []})", "prompt"},
      {R"({"prompt": [1, "a"]})", "prompt"},
      {R"({"prompt": [1, 100]})", "prompt"},  // outside the vocabulary
      {R"({"prompt": [-1]})", "prompt"},
      {R"({})", "prompt"},
      {R"({"prompt": "x", "max_tokens": "5"})", "max_tokens"},
      {R"({"prompt": "x", "max_tokens": 0})", "max_tokens"},
      {R"({"prompt": "x", "max_tokens": -3})", "max_tokens"},
      {R"({"prompt": "x", "max_tokens": 99999999999999999999})", "max_tokens"},
      {R"({"prompt": "x", "max_tokens": 1.5})", "max_tokens"},
      {R"({"prompt": "x", "temperature": "hot"})", "temperature"},
      {R"({"prompt": "x", "temperature": 2.5})", "temperature"},
      {R"({"prompt": "x", "top_p": 0})", "top_p"},
      {R"({"prompt": "x", "top_k": -1})", "top_k"},
      {R"({"prompt": "x", "n": 2})", "n"},
      {R"({"prompt": "x", "stop": ["a", "b", "c", "d", "e"]})", "stop"},
      {R"({"prompt": "x", "stop": [""]})", "stop"},
      {R"({"prompt": "x", "stop": 3})", "stop"},
      {R"({"prompt": "x", "stream": "yes"})", "stream"},
      {R"({"prompt": "x", "model": 7})", "model"},
  };
  for (const Case& c : cases) {
    const ApiError e = error_of(c.body);
    EXPECT_EQ(e.status, 400) << c.body;
    EXPECT_EQ(e.type, "invalid_request_error") << c.body;
    EXPECT_EQ(e.param, c.param) << c.body << ": " << e.message;
    EXPECT_FALSE(e.message.empty());
  }
  EXPECT_EQ(error_of("{not json").param, "");
  EXPECT_NE(error_of("{not json").message.find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of("[1, 2]").message.find("JSON object"), std::string::npos);
  EXPECT_EQ(error_of(R"({"messages": [{"role": "robot", "content": "x"}]})", true).param, "messages");
  EXPECT_EQ(error_of(R"({"messages": [{"role": "user"}]})", true).param, "messages");
  EXPECT_EQ(error_of(R"({"messages": []})", true).param, "messages");
}

TEST(OpenAiApi, GoodRequestsParse) {
  const GenerationRequest ids = request_of(
      R"({"model": "m", "prompt": [1, 2, 99], "max_tokens": 7, "temperature": 0, "top_p": 0.9, "top_k": 40,
          "seed": 5, "stop": "\n", "stream": true, "stream_options": {"include_usage": true}})");
  EXPECT_EQ(ids.model, "m");
  ASSERT_EQ(ids.prompts.size(), 1u);
  EXPECT_EQ(std::get<std::vector<int32_t>>(ids.prompts[0]), (std::vector<int32_t>{1, 2, 99}));
  EXPECT_EQ(ids.max_tokens, 7);
  EXPECT_EQ(ids.sampling.temperature, 0.0f);
  EXPECT_FLOAT_EQ(ids.sampling.top_p, 0.9f);
  EXPECT_EQ(ids.sampling.top_k, 40);
  EXPECT_EQ(ids.sampling.seed, 5u);
  EXPECT_EQ(ids.stop, (std::vector<std::string>{"\n"}));
  EXPECT_TRUE(ids.stream);
  EXPECT_TRUE(ids.include_usage);
  const GenerationRequest text = request_of(R"({"prompt": "Once upon"})");
  EXPECT_EQ(std::get<std::string>(text.prompts.at(0)), "Once upon");
  EXPECT_FALSE(text.max_tokens);
  EXPECT_EQ(text.sampling.temperature, 1.0f);  // OpenAI's default
  EXPECT_FALSE(text.stream);
  EXPECT_EQ(std::get<std::string>(request_of(R"({"prompt": ["one string"]})").prompts.at(0)), "one string");
  const GenerationRequest chat =
      request_of(R"({"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
                     "max_completion_tokens": 3})",
                 true);
  ASSERT_EQ(chat.messages.size(), 2u);
  EXPECT_EQ(chat.messages[1]["content"], "hi");
  EXPECT_TRUE(chat.tools.is_null());
  const GenerationRequest tools = request_of(
      R"({"messages": [{"role": "user", "content": "w?"}, {"role": "assistant", "content": null, "tool_calls": [{"id": "1"}]}],
          "tools": [{"type": "function", "function": {"name": "f", "parameters": {"z": 1, "a": 2}}}],
          "chat_template_kwargs": {"enable_thinking": false}})",
      true);
  EXPECT_EQ(tools.tools[0]["function"]["parameters"].dump(), R"({"z":1,"a":2})") << "key order kept for tojson";
  EXPECT_EQ(tools.chat_template_kwargs["enable_thinking"], false);
  EXPECT_EQ(tools.message_text_bytes, 2u);
  EXPECT_EQ(error_of(R"({"messages": [{"role": "user", "content": "x"}], "tools": {}})", true).param, "tools");
  EXPECT_EQ(error_of(R"({"messages": [{"role": "user", "content": "x"}], "chat_template_kwargs": []})", true).param, "chat_template_kwargs");
  EXPECT_EQ(error_of(R"({"messages": [{"role": "user", "content": "x"}], "chat_template_kwargs": {"messages": 1}})", true).param,
            "chat_template_kwargs");
  EXPECT_EQ(error_of(R"({"messages": [{"role": "user", "content": null}]})", true).param, "messages") << "null content needs tool_calls";
  EXPECT_EQ(chat.max_tokens, 3);
}

TEST(OpenAiApi, BudgetChecksPromptAndMaxTokensAgainstTheContext) {
  GenerationRequest r = request_of(R"({"prompt": "x"})");
  const Limits limits{100, 0, 128, 0};
  EXPECT_EQ(std::get<int64_t>(completion_budget(r, 28, limits)), 100);  // default 0: up to the context
  EXPECT_EQ(std::get<int64_t>(completion_budget(r, 28, {100, 0, 128})), 16) << "OpenAI's default";
  EXPECT_EQ(std::get<int64_t>(completion_budget(r, 120, {0, 0, 128})), 8) << "the default, capped by the room left";
  EXPECT_EQ(std::get<ApiError>(completion_budget(r, 101, limits)).param, "prompt");
  EXPECT_EQ(std::get<ApiError>(completion_budget(r, 0, limits)).status, 400);
  r.max_tokens = 101;
  EXPECT_EQ(std::get<ApiError>(completion_budget(r, 28, limits)).param, "max_tokens");
  r.max_tokens = 100;
  EXPECT_EQ(std::get<int64_t>(completion_budget(r, 28, limits)), 100);
  EXPECT_EQ(std::get<int64_t>(completion_budget(request_of(R"({"prompt": "x"})"), 28, {0, 16, 128, 0})), 16);
}

TEST(OpenAiApi, ResponseBodiesHaveOpenAiShapes) {
  const json err = ApiError{401, "authentication_error", "bad key", "", "invalid_api_key"}.to_json();
  EXPECT_EQ(err["error"]["type"], "authentication_error");
  EXPECT_EQ(err["error"]["code"], "invalid_api_key");
  EXPECT_TRUE(err["error"]["param"].is_null());
  const json c = completion_response("cmpl-1", "m", 10, false, {{"text", "length", nullptr}}, {3, 4});
  EXPECT_EQ(c["object"], "text_completion");
  EXPECT_EQ(c["choices"][0]["text"], "text");
  EXPECT_EQ(c["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(c["usage"]["total_tokens"], 7);
  const json chat = completion_response("chatcmpl-1", "m", 10, true, {{"hi", "stop", nullptr}}, {3, 1});
  EXPECT_EQ(chat["object"], "chat.completion");
  EXPECT_EQ(chat["choices"][0]["message"]["role"], "assistant");
  const json first = completion_chunk("c", "m", 1, true, "", "", true);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(first["choices"][0]["finish_reason"].is_null());
  EXPECT_EQ(completion_chunk("c", "m", 1, true, "", "stop", false)["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(models_response("m", 5)["data"][0]["id"], "m");
  EXPECT_EQ(find_stop("abc\ndef", {"\n", "de"}), 3u);
  EXPECT_EQ(find_stop("abc", {"x"}), std::string::npos);
}

}  // namespace
}  // namespace hifp8::serve

namespace hifp8::serve {
namespace {

// What lm-eval-harness's local-completions backend sends for log-likelihood (a batch of token-id
// prompts, echo, max_tokens 0 or 1, logprobs 1) and evalscope's chat log-probs parse; the options
// that cannot combine are 400s naming the field.
TEST(OpenAiApi, HarnessScoringRequests) {
  const GenerationRequest batch = request_of(
      R"({"model": "m", "prompt": [[1, 2, 3], [4, 5]], "echo": true, "max_tokens": 0, "logprobs": 1, "temperature": 0, "seed": 1234})");
  ASSERT_EQ(batch.prompts.size(), 2u);
  EXPECT_EQ(std::get<std::vector<int32_t>>(batch.prompts[1]), (std::vector<int32_t>{4, 5}));
  EXPECT_TRUE(batch.echo);
  EXPECT_EQ(batch.logprobs, 1);
  EXPECT_EQ(batch.max_tokens, 0);
  EXPECT_EQ(request_of(R"({"prompt": ["a", "b", "c"]})").prompts.size(), 3u);
  const GenerationRequest chat = request_of(R"({"messages": [{"role": "user", "content": "x"}], "logprobs": true, "top_logprobs": 3})", true);
  EXPECT_EQ(chat.logprobs, 3);
  EXPECT_EQ(error_of(R"({"prompt": "x", "max_tokens": 0})").param, "max_tokens") << "max_tokens 0 needs echo";
  EXPECT_EQ(error_of(R"({"prompt": "x", "logprobs": 21})").param, "logprobs");
  EXPECT_EQ(error_of(R"({"prompt": ["a", "b"], "stream": true})").param, "prompt");
  EXPECT_EQ(error_of(R"({"prompt": "a", "stream": true, "logprobs": 1})").param, "logprobs");
  EXPECT_EQ(error_of(R"({"prompt": [[1], [9999]]})").param, "prompt");
  EXPECT_EQ(error_of(R"({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2})", true).param, "top_logprobs");
  const json lp = completion_logprobs({{"Hé", std::nullopt, {}}, {"llo", -0.5f, {{"llo", -0.5f}, {"lp", -2.0f}}}}, 0);
  EXPECT_EQ(lp["text_offset"], json({0, 2})) << "offsets count characters";
  EXPECT_TRUE(lp["token_logprobs"][0].is_null());
  EXPECT_TRUE(lp["top_logprobs"][0].is_null());
  EXPECT_FLOAT_EQ(lp["top_logprobs"][1]["lp"].get<float>(), -2.0f);
  const json clp = chat_logprobs({{"a", -1.0f, {{"a", -1.0f}}}});
  EXPECT_EQ(clp["content"][0]["bytes"], json({97}));
}

// Chat content as OpenAI's array of parts: text parts kept for the template; any other part, or a part
// whose fields have the wrong type, is a 400 (a number "type" threw inside the parser: found by
// fuzz_openai_request).
TEST(OpenAiApi, ChatContentParts) {
  const GenerationRequest r = request_of(
      R"({"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]})", true);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0]["content"].size(), 2u);
  EXPECT_EQ(r.message_text_bytes, 2u);
  EXPECT_EQ(request_of(R"({"messages": [{"role": "tool", "content": "42"}]})", true).messages[0]["role"], "tool");
  for (const char* bad : {R"({"messages": [{"role": "user", "content": [{"type": 6, "text": "a"}]}]})",
                          R"({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]})",
                          R"({"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]})",
                          R"({"messages": [{"role": "user", "content": [7]}]})",
                          R"({"messages": [{"role": "user", "content": {"text": "a"}}]})",
                          R"({"messages": [{"role": "function", "content": "a"}]})"})
    EXPECT_EQ(error_of(bad, true).param, "messages") << bad;
}

}  // namespace
}  // namespace hifp8::serve
