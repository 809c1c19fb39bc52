// The built-in chat formats render the exact prompt strings of the families' templates, are picked
// from tokenizer_config.json, and encode with BOS/EOS texts as their special ids.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hifp8/error.h"
#include "hifp8/model/chat_template.h"
#include "hifp8/model/tokenizer.h"
#include "support/shared_data.h"
#include "support/temp_dir.h"

namespace hifp8::model {
namespace {

const std::vector<ChatMessage> kChat = {{"system", "Be brief."}, {"user", "Hi!"}, {"assistant", "Hello."}, {"user", "Why?"}};

TEST(ChatTemplate, RendersEachFormat) {
  EXPECT_EQ(render_chat(ChatFormat::llama3, kChat),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
            "Hello.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWhy?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(render_chat(ChatFormat::chatml, kChat),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n"
            "<|im_start|>user\nWhy?<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(render_chat(ChatFormat::llama2, kChat),
            "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi! [/INST] Hello. </s><s>[INST] Why? [/INST]");
  EXPECT_TRUE(render_chat(ChatFormat::chatml, kChat, false).ends_with("Why?<|im_end|>\n")) << "no generation prompt";
  EXPECT_THROW(render_chat(ChatFormat::chatml, {{"function", "x"}}), Error);
  EXPECT_THROW(render_chat(ChatFormat::llama2, {{"tool", "x"}}), Error);  // Llama 2 has no tool role
  EXPECT_EQ(render_chat(ChatFormat::chatml, {{"tool", "42"}}, false), "<|im_start|>tool\n42<|im_end|>\n");
  EXPECT_EQ(render_chat(ChatFormat::llama3, {{"tool", "42"}}, false),
            "<|begin_of_text|><|start_header_id|>ipython<|end_header_id|>\n\n42<|eot_id|>");
  EXPECT_THROW(render_chat(ChatFormat::llama2, {{"user", "a"}, {"user", "b"}}), Error);
  EXPECT_THROW(parse_chat_format("jinja"), Error);
}

TEST(ChatTemplate, DetectedFromTokenizerConfig) {
  test::TempDir tmp;
  auto with_template = [&](const std::string& t) {
    std::ofstream(tmp.path() / "tokenizer_config.json") << nlohmann::json{{"chat_template", t}}.dump();
    return detect_chat_format(tmp.path());
  };
  EXPECT_EQ(with_template("{{ '<|start_header_id|>' + message['role'] }}"), ChatFormat::llama3);
  EXPECT_EQ(with_template("{% for m in messages %}<|im_start|>{{ m.role }}{% endfor %}"), ChatFormat::chatml);
  EXPECT_EQ(with_template("{{ bos_token + '[INST] ' + content }}"), ChatFormat::llama2);
  EXPECT_THROW(with_template("{{ message.content }}"), Error);
  EXPECT_THROW(detect_chat_format(test::shared_path("models/pd-llama-15M")), Error);  // no chat_template
}

TEST(ChatTemplate, Llama2PromptEncodesBosAndEosAsIds) {
  const auto tok = Tokenizer::load(test::shared_path("tokenizers/llama2-spm"));
  const std::vector<int32_t> ids = tok->encode(render_chat(ChatFormat::llama2, kChat), false);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 1), 2) << "two <s>";
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 2), 1) << "one </s>";
  EXPECT_EQ(ids.front(), 1);
}

}  // namespace
}  // namespace hifp8::model
