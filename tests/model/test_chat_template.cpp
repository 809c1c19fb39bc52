// Chat prompts: the built-in formats render the exact prompt strings of the families' templates; a
// model's own Jinja template is found (chat_template.jinja, tokenizer_config.json string or named
// list) and rendered with its special tokens; prompts encode with BOS/EOS texts as their special ids.
// The Jinja rendering itself is checked against python3-jinja2 in tests/jinja.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "hifp8/error.h"
#include "hifp8/model/chat_template.h"
#include "hifp8/model/tokenizer.h"
#include "support/shared_data.h"
#include "support/temp_dir.h"

namespace hifp8::model {
namespace {

using nlohmann::ordered_json;

const ordered_json kChat = ordered_json::parse(R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi!"},
  {"role": "assistant", "content": "Hello."}, {"role": "user", "content": [{"type": "text", "text": "Why?"}]}])");

std::string builtin(const std::string& format, const ordered_json& messages, bool add_generation_prompt = true) {
  ChatOptions o;
  o.add_generation_prompt = add_generation_prompt;
  return ChatTemplate::load("", format).render(messages, o);
}

ordered_json one(const std::string& role, const std::string& content) { return ordered_json::array({{{"role", role}, {"content", content}}}); }

TEST(ChatTemplate, RendersEachBuiltinFormat) {
  EXPECT_EQ(builtin("llama3", kChat),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
            "Hello.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhy?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(builtin("chatml", kChat),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n"
            "<|im_start|>user\nWhy?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(builtin("llama2", kChat), "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi! [/INST] Hello. </s><s>[INST] Why? [/INST]");
  EXPECT_TRUE(builtin("chatml", kChat, false).ends_with("Why?<|im_end|>\n")) << "no generation prompt";
  EXPECT_THROW(builtin("chatml", one("function", "x")), Error);
  EXPECT_THROW(builtin("llama2", one("tool", "x")), Error);  // Llama 2 has no tool role
  EXPECT_EQ(builtin("chatml", one("tool", "42"), false), "<|im_start|>tool\n42<|im_end|>\n");
  EXPECT_EQ(builtin("llama3", one("tool", "42"), false), "<|begin_of_text|><|start_header_id|>ipython<|end_header_id|>\n\n42<|eot_id|>");
  EXPECT_THROW(builtin("llama2", ordered_json::parse(R"([{"role":"user","content":"a"},{"role":"user","content":"b"}])")), Error);
  EXPECT_THROW(builtin("chatml", ordered_json::parse(R"([{"role":"user","content":[{"type":"image_url"}]}])")), Error);
  EXPECT_THROW(ChatTemplate::load("", "jinja"), Error);
}

TEST(ChatTemplate, ModelTemplateFoundAndRenderedWithSpecialTokens) {
  test::TempDir tmp;
  auto write_config = [&](const ordered_json& config) { std::ofstream(tmp.path() / "tokenizer_config.json") << config.dump(); };
  write_config({{"bos_token", {{"__type", "AddedToken"}, {"content", "<B>"}}}, {"eos_token", "<E>"}, {"unk_token", nullptr},
                {"chat_template", "{{ bos_token }}{% for m in messages %}{{ m.role }}:{{ m.content }}{{ eos_token }}{% endfor %}"
                                  "{{ unk_token is defined }}{% if add_generation_prompt %}>{% endif %}"}});
  EXPECT_EQ(ChatTemplate::load(tmp.path()).render(one("user", "hi")), "<B>user:hi<E>False>");

  write_config({{"chat_template", ordered_json::array({{{"name", "default"}, {"template", "plain"}},
                                                       {{"name", "tool_use"}, {"template", "{{ tools|length }} tools"}}})}});
  ChatOptions o;
  EXPECT_EQ(ChatTemplate::load(tmp.path()).render(one("user", "x"), o), "plain");
  o.tools = ordered_json::array({{{"type", "function"}}});
  EXPECT_EQ(ChatTemplate::load(tmp.path()).render(one("user", "x"), o), "1 tools") << "tools pick 'tool_use'";

  std::ofstream(tmp.path() / "chat_template.jinja") << "from the .jinja file {{ messages|length }}\n";
  EXPECT_EQ(ChatTemplate::load(tmp.path()).render(one("user", "x")), "from the .jinja file 1") << "chat_template.jinja wins";

  std::filesystem::remove(tmp.path() / "chat_template.jinja");
  write_config({{"chat_template", "{% if %}"}});
  EXPECT_THROW(ChatTemplate::load(tmp.path()), Error) << "a template with a syntax error fails at load";
  write_config({{"chat_template", 5}});
  EXPECT_THROW(ChatTemplate::load(tmp.path()), Error);
  EXPECT_THROW(ChatTemplate::load(test::shared_path("models/pd-llama-15M")), Error);  // no chat_template
}

TEST(ChatTemplate, Llama2PromptEncodesBosAndEosAsIds) {
  const auto tok = Tokenizer::load(test::shared_path("tokenizers/llama2-spm"));
  const std::vector<int32_t> ids = tok->encode(builtin("llama2", kChat), false);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 1), 2) << "two <s>";
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 2), 1) << "one </s>";
  EXPECT_EQ(ids.front(), 1);
}

}  // namespace
}  // namespace hifp8::model
