// libFuzzer harness for the Jinja interpreter: any bytes as a chat template, parsed and rendered
// with a conversation, tools and special tokens, give a prompt or an hifp8::Error (a syntax error,
// raise_exception, a runaway loop). Never another exception, a crash or a hang.
#include <cstddef>
#include <cstdint>
#include <string>

#include "hifp8/error.h"
#include "hifp8/jinja/template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nlohmann::ordered_json context = nlohmann::ordered_json::parse(R"({
    "bos_token": "<s>", "eos_token": "</s>", "add_generation_prompt": true, "documents": null,
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi é 😀"},
                 {"role": "assistant", "content": null, "tool_calls": [{"id": "a", "function": {"name": "f", "arguments": {"x": 1.5}}}]},
                 {"role": "tool", "content": "42"}],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"x": {"type": "number"}}}}}]})");
  try {
    (void)hifp8::jinja::Template(std::string(reinterpret_cast<const char*>(data), size)).render(context);
  } catch (const hifp8::Error&) {
  }
  return 0;
}
