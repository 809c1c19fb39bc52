#pragma once
// Runtime values of the Jinja interpreter, with Python's semantics: what str(), repr(), bool(), ==,
// < and json.dumps give for None, bool, int, float, str, list, tuple and dict. Lists and dicts are
// shared and immutable (transformers renders in an immutable sandbox); a namespace() is the one
// mutable object.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace hifp8::jinja {

class Value;

struct Undefined {
  std::string hint;  // why: "'x' is undefined", "'dict object' has no attribute 'y'"
};

struct ValueList {
  std::vector<Value> items;
  bool tuple = false;  // repr as (a, b)
};

// Insertion-ordered, as Python's dict. Keys are strings: chat templates index by name.
struct ValueDict {
  std::vector<std::pair<std::string, Value>> items;
  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value value);
};

struct Namespace {
  ValueDict attributes;
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  // The argument at `index` or named `name`, or nullopt; keyword arguments are consumed in order.
  const Value* get(size_t index, std::string_view name) const;
};
using Function = std::function<Value(const CallArgs&)>;

class Value {
 public:
  using List = std::shared_ptr<const ValueList>;
  using Dict = std::shared_ptr<const ValueDict>;
  using Storage = std::variant<Undefined, std::nullptr_t, bool, int64_t, double, std::string, List, Dict,
                               std::shared_ptr<Namespace>, std::shared_ptr<const Function>>;

  Value() : v_(Undefined{}) {}
  Value(Undefined u) : v_(std::move(u)) {}
  Value(std::nullptr_t) : v_(nullptr) {}
  Value(bool b) : v_(b) {}
  Value(int64_t i) : v_(i) {}
  Value(int i) : v_(int64_t{i}) {}
  Value(double d) : v_(d) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(std::vector<Value> items, bool tuple = false);
  Value(ValueDict dict);
  Value(std::shared_ptr<Namespace> ns) : v_(std::move(ns)) {}
  Value(Function f);

  static Value from_json(const nlohmann::ordered_json& j);

  bool is_undefined() const { return std::holds_alternative<Undefined>(v_); }
  bool is_none() const { return std::holds_alternative<std::nullptr_t>(v_); }
  bool is_bool() const { return std::holds_alternative<bool>(v_); }
  bool is_int() const { return std::holds_alternative<int64_t>(v_); }  // bool is not an int here
  bool is_float() const { return std::holds_alternative<double>(v_); }
  bool is_number() const { return is_int() || is_float() || is_bool(); }
  bool is_string() const { return std::holds_alternative<std::string>(v_); }
  bool is_list() const { return std::holds_alternative<List>(v_); }
  bool is_dict() const { return std::holds_alternative<Dict>(v_); }
  bool is_namespace() const { return std::holds_alternative<std::shared_ptr<Namespace>>(v_); }
  bool is_function() const { return std::holds_alternative<std::shared_ptr<const Function>>(v_); }

  // The value as a type; hifp8::Error naming both types when it is another (a template's arguments
  // are whatever its author wrote: std::bad_variant_access must not escape).
  bool as_bool() const { return checked<bool>("a boolean"); }
  int64_t as_int() const;   // int or bool
  double as_double() const; // int, bool or float
  const std::string& as_string() const { return checked<std::string>("a string"); }
  const ValueList& as_list() const { return *checked<List>("a list"); }
  const ValueDict& as_dict() const { return *checked<Dict>("a dict"); }
  Namespace& as_namespace() const { return *checked<std::shared_ptr<Namespace>>("a namespace"); }
  const Function& as_function() const { return *checked<std::shared_ptr<const Function>>("callable"); }
  const Undefined& as_undefined() const { return checked<Undefined>("undefined"); }

  bool truthy() const;             // Python bool(); undefined is false
  std::string str() const;         // Python str(); undefined is ""
  std::string repr() const;        // Python repr()
  std::string type_name() const;   // for errors: "int", "dict object", ...
  // The items a for loop or a filter iterates: list items, dict keys, string characters.
  std::vector<Value> iterate() const;
  int64_t length() const;          // len(); error for what has none

  // Python json.dumps(value, ensure_ascii, indent, separators, sort_keys).
  std::string to_json(bool ensure_ascii, std::optional<std::string> indent, const std::string& item_separator,
                      const std::string& key_separator, bool sort_keys) const;

  const Storage& storage() const { return v_; }

 private:
  template <typename T>
  const T& checked(const char* expected) const {
    if (const T* p = std::get_if<T>(&v_)) return *p;
    fail_type(expected);
  }
  [[noreturn]] void fail_type(const char* expected) const;
  Storage v_;
};

bool operator==(const Value& a, const Value& b);  // Python ==
int compare(const Value& a, const Value& b);       // Python <, >: -1, 0, 1; error for unordered types

std::string python_float_repr(double d);
std::string python_string_repr(const std::string& s);
// The code points of UTF-8 text, and back (Python indexes strings by code point).
std::u32string to_code_points(const std::string& s);
std::string from_code_points(std::u32string_view s);
bool python_isspace(char32_t c);

}  // namespace hifp8::jinja
