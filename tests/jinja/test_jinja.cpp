// The Jinja interpreter against python3-jinja2 (tests/jinja/test_jinja_oracle.sh renders every case
// with it first, in transformers' chat-template environment, and sets HIFP8_JINJA_ORACLE), plus the
// checks jinja2 cannot make for us: error messages name the line, runaway templates stop.
#include <cstdlib>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "hifp8/error.h"
#include "hifp8/jinja/template.h"
#include "hifp8/model/chat_template.h"

namespace hifp8 {
namespace {

using nlohmann::ordered_json;

ordered_json read_oracle() {
  const char* path = std::getenv("HIFP8_JINJA_ORACLE");
  if (!path) return nullptr;
  std::ifstream f(path);
  if (!f) throw std::runtime_error(std::string("cannot read ") + path);
  return ordered_json::parse(f);
}

std::string render_case(const ordered_json& c) {
  if (c.contains("template")) return jinja::Template(c["template"].get<std::string>()).render(c.value("context", ordered_json::object()));
  model::ChatOptions options;
  options.add_generation_prompt = c["add_generation_prompt"].get<bool>();
  if (!c["tools"].is_null()) options.tools = c["tools"];
  options.variables = c["extra"];
  return model::ChatTemplate::load(c["model_dir"].get<std::string>()).render(c["messages"], options);
}

TEST(JinjaOracle, EveryCaseRendersAsJinja2) {
  const ordered_json rows = read_oracle();
  if (rows.is_null()) GTEST_SKIP() << "HIFP8_JINJA_ORACLE not set: run tests/jinja/test_jinja_oracle.sh (renders with python3-jinja2)";
  ASSERT_GT(rows.size(), 0u);
  int errors_expected = 0;
  for (const auto& c : rows) {
    const std::string name = c["name"].get<std::string>();
    if (c.contains("error")) {
      ++errors_expected;
      EXPECT_THROW(render_case(c), Error) << name << ": jinja2 raised " << c["error"].get<std::string>();
      continue;
    }
    try {
      EXPECT_EQ(render_case(c), c["output"].get<std::string>()) << name;
    } catch (const Error& e) {
      ADD_FAILURE() << name << ": " << e.what();
    }
  }
  std::printf("%zu cases, %d of them errors in jinja2 too\n", rows.size(), errors_expected);
}

// The real family templates against transformers' own apply_chat_template (made on the device
// machine, tests/data/chat_template_reference.json): the rows the oracle rendered with jinja2 must
// also be what transformers renders.
TEST(JinjaOracle, FamilyTemplatesEqualTransformers) {
  const ordered_json rows = read_oracle();
  if (rows.is_null()) GTEST_SKIP() << "HIFP8_JINJA_ORACLE not set: run tests/jinja/test_jinja_oracle.sh families";
  std::ifstream f(std::string(HIFP8_SOURCE_DIR) + "/tests/data/chat_template_reference.json");
  const ordered_json hf = ordered_json::parse(f);
  std::map<std::string, ordered_json> by_name;
  for (const auto& r : hf["rows"]) by_name[r["name"].get<std::string>()] = r;
  int compared = 0;
  for (const auto& c : rows) {
    const auto it = by_name.find(c["name"].get<std::string>());
    if (it == by_name.end()) continue;
    ++compared;
    if (it->second.contains("error")) {
      EXPECT_THROW(render_case(c), Error) << c["name"];
    } else {
      try {
        EXPECT_EQ(render_case(c), it->second["output"].get<std::string>()) << c["name"];
      } catch (const Error& e) {
        ADD_FAILURE() << c["name"] << ": " << e.what();
      }
    }
  }
  std::printf("%d renders compared with transformers %s\n", compared, hf["transformers"].get<std::string>().c_str());
}

TEST(Jinja, ErrorsNameTheLine) {
  try {
    jinja::Template("a\n{% if x %}\n{{ 1 +  }}\n{% endif %}");
    FAIL() << "no syntax error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
  }
  try {
    jinja::Template("a\nb\n{{ raise_exception('Conversation roles must alternate') }}").render(ordered_json::object());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("roles must alternate"), std::string::npos) << e.what();
  }
}

TEST(Jinja, RunawayTemplatesStop) {
  // 100000^2 iterations would take hours: the iteration budget ends it, and the output cap ends a
  // template that writes too much in few iterations.
  EXPECT_THROW(jinja::Template("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}").render(ordered_json::object()),
               Error);
  EXPECT_THROW(jinja::Template("{% for i in range(100000) %}{{ 'x' * 1000000 }}{% endfor %}").render(ordered_json::object()), Error);
  EXPECT_THROW(jinja::Template("{{ range(1000000)|length }}").render(ordered_json::object()), Error);
  EXPECT_THROW(jinja::Template("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").render(ordered_json::object()), Error);
}

TEST(Jinja, UnknownAttributesAreUndefined) {
  // [1].t recursed between attribute and item lookup until the stack overflowed (the fuzz target).
  EXPECT_EQ(jinja::Template("{{ [1].t is defined }} {{ 'a'.t is defined }} {{ [1]['t'] is defined }} {{ (5).x is defined }}")
                .render(ordered_json::object()),
            "False False False False");
}

TEST(Jinja, HugeFloatLiteralIsInfinityAsInPython) {
  // std::stod threw std::out_of_range past the parser (the jinja_template fuzz target).
  EXPECT_EQ(jinja::Template("{{ 1e1500001 }} {{ -1e999 }}").render(ordered_json::object()), "inf -inf");
}

TEST(Jinja, HostileSourcesAreErrorsNotCrashes) {
  for (const char* source : {"{{", "{%", "{#", "{{ 'abc", "{% for %}", "{% set %}", "{{ (((( }}", "{{ a[ }}", "{% endfor %}",
                             "{% if x %}{% else %}{% else %}{% endif %}", "{{ 1 is }}", "{{ x|}}", "{% macro ( %}",
                             "{{ '\\u12' }}", "{% raw %}never ends", "{{ 99999999999999999999999 }}",
                             // wrong argument types (std::bad_variant_access escaped: the jinja_template fuzz target)
                             "{{ range(nothing) }}", "{{ range('3') }}", "{{ 'a b'.split(' ', 'x') }}",
                             "{{ 'x'|indent(width=none) }}", "{{ (1, 2)|dictsort }}", "{{ 3 is divisibleby('a') }}", "{{ x.y }}",
                             // int64 overflow (UBSan in the fuzz target: Python's ints are unbounded, these are not)
                             "{{ 4**40 }}", "{{ 9223372036854775807 + 1 }}", "{{ -(-9223372036854775807 - 1) }}", "{{ 1e300|int }}",
                             "{{ (-9223372036854775807 - 1) // -1 }}", "{{ '%d' % 1e300 }}", "{{ x.99999999999999999999 }}"}) {
    EXPECT_THROW(jinja::Template(source).render(ordered_json::object()), Error) << source;
  }
}

}  // namespace
}  // namespace hifp8
