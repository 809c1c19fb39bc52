#pragma once
// A Jinja2 interpreter for chat templates: the subset of Jinja that Hugging Face tokenizer_config.json
// chat templates use, with the environment transformers renders them in (trim_blocks, lstrip_blocks,
// loop controls, `tojson` as Python's json.dumps, `raise_exception`, `strftime_now`). Values follow
// Python semantics (str() and repr() of lists, dicts, floats; integer and float arithmetic). No
// includes, imports, inheritance or autoescaping: a chat template is one self-contained string.
// docs/engine.md lists the statements, filters, tests and methods supported.
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace hifp8::jinja {

struct TemplateBody;

class Template {
 public:
  // Parses `source`; a syntax error throws hifp8::Error naming the line.
  explicit Template(std::string_view source);
  ~Template();
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;

  // Renders with the top-level variables of `context` (an object). Errors (an undefined variable
  // used in arithmetic, raise_exception, a wrong type) throw hifp8::Error naming the line.
  std::string render(const nlohmann::ordered_json& context) const;

 private:
  std::unique_ptr<TemplateBody> body_;
};

}  // namespace hifp8::jinja
