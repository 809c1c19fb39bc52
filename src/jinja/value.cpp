#include "jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include <utf8proc.h>

#include "hifp8/error.h"

namespace hifp8::jinja {

const Value* ValueDict::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void ValueDict::set(const std::string& key, Value value) {
  for (auto& [k, v] : items)
    if (k == key) {
      v = std::move(value);
      return;
    }
  items.emplace_back(key, std::move(value));
}

const Value* CallArgs::get(size_t index, std::string_view name) const {
  if (index < positional.size()) return &positional[index];
  for (const auto& [k, v] : keyword)
    if (k == name) return &v;
  return nullptr;
}

Value::Value(std::vector<Value> items, bool tuple)
    : v_(std::make_shared<const ValueList>(ValueList{std::move(items), tuple})) {}
Value::Value(ValueDict dict) : v_(std::make_shared<const ValueDict>(std::move(dict))) {}
Value::Value(Function f) : v_(std::make_shared<const Function>(std::move(f))) {}

Value Value::from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return nullptr;
    case nlohmann::ordered_json::value_t::boolean: return j.get<bool>();
    case nlohmann::ordered_json::value_t::number_integer: return j.get<int64_t>();
    case nlohmann::ordered_json::value_t::number_unsigned: return static_cast<int64_t>(j.get<uint64_t>());
    case nlohmann::ordered_json::value_t::number_float: return j.get<double>();
    case nlohmann::ordered_json::value_t::string: return j.get<std::string>();
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      for (const auto& e : j) items.push_back(from_json(e));
      return Value(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      ValueDict d;
      for (const auto& [k, v] : j.items()) d.items.emplace_back(k, from_json(v));
      return Value(std::move(d));
    }
    default: return Undefined{"binary JSON value"};
  }
}

void Value::fail_type(const char* expected) const {
  if (is_undefined() && !as_undefined().hint.empty()) throw Error(as_undefined().hint);
  std::string shown = is_undefined() ? "" : " " + repr();
  if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
  throw Error(std::string("expected ") + expected + ", got " + type_name() + shown);
}

int64_t Value::as_int() const {
  if (is_bool()) return as_bool();
  return checked<int64_t>("an integer");
}

double Value::as_double() const {
  if (is_float()) return std::get<double>(v_);
  if (!is_int() && !is_bool()) fail_type("a number");
  return static_cast<double>(as_int());
}

bool Value::truthy() const {
  return std::visit(
      [](const auto& x) -> bool {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Undefined> || std::is_same_v<T, std::nullptr_t>) return false;
        else if constexpr (std::is_same_v<T, bool>) return x;
        else if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, double>) return x != 0;
        else if constexpr (std::is_same_v<T, std::string>) return !x.empty();
        else if constexpr (std::is_same_v<T, List>) return !x->items.empty();
        else if constexpr (std::is_same_v<T, Dict>) return !x->items.empty();
        else return true;
      },
      v_);
}

std::string python_float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);  // shortest round trip
  std::string s(buf, r.ptr);
  const size_t e = s.find('e');
  const int exponent = std::stoi(s.substr(e + 1));
  std::string sign, digits;
  for (char c : s.substr(0, e)) {
    if (c == '-') sign = "-";
    else if (c != '.') digits += c;
  }
  if (exponent < -4 || exponent >= 16) {  // Python's repr switches to exponent notation here
    std::string m = digits.substr(0, 1) + (digits.size() > 1 ? "." + digits.substr(1) : "");
    char ex[16];
    std::snprintf(ex, sizeof ex, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return sign + m + ex;
  }
  std::string out;
  if (exponent < 0) out = "0." + std::string(-exponent - 1, '0') + digits;
  else if (static_cast<int>(digits.size()) <= exponent + 1) out = digits + std::string(exponent + 1 - digits.size(), '0') + ".0";
  else out = digits.substr(0, exponent + 1) + "." + digits.substr(exponent + 1);
  return sign + out;
}

std::u32string to_code_points(const std::string& s) {
  std::u32string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(s.size());
  while (left > 0) {
    utf8proc_int32_t c;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &c);
    if (n <= 0) c = 0xFFFD, n = 1;  // invalid byte: one replacement character, as decode('utf-8', 'replace')
    out.push_back(static_cast<char32_t>(c));
    p += n, left -= n;
  }
  return out;
}

std::string from_code_points(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) {
    utf8proc_uint8_t buf[4];
    out.append(reinterpret_cast<const char*>(buf), utf8proc_encode_char(static_cast<utf8proc_int32_t>(c), buf));
  }
  return out;
}

bool python_isspace(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

namespace {

bool python_isprintable(char32_t c) {
  if (c == ' ') return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS: case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP: case UTF8PROC_CATEGORY_ZS:
      return false;
    default: return true;
  }
}

std::string hex_escape(char32_t c, const char* prefix, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s%0*x", prefix, digits, static_cast<unsigned>(c));
  return buf;
}

std::string json_string(const std::string& s, bool ensure_ascii) {
  std::string out = "\"";
  for (char32_t c : to_code_points(s)) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) out += hex_escape(c, "\\u", 4);
        else if (c < 0x80 || !ensure_ascii) out += from_code_points(std::u32string_view(&c, 1));
        else if (c < 0x10000) out += hex_escape(c, "\\u", 4);
        else {  // a surrogate pair, as Python writes it
          const char32_t v = c - 0x10000;
          out += hex_escape(0xD800 + (v >> 10), "\\u", 4) + hex_escape(0xDC00 + (v & 0x3FF), "\\u", 4);
        }
    }
  }
  return out + "\"";
}

}  // namespace

std::string python_string_repr(const std::string& s) {
  const bool has_single = s.find('\'') != std::string::npos, has_double = s.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t c : to_code_points(s)) {
    if (c == static_cast<char32_t>(quote) || c == '\\') out += '\\', out += static_cast<char>(c);
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (!python_isprintable(c)) out += c < 0x100 ? hex_escape(c, "\\x", 2) : c < 0x10000 ? hex_escape(c, "\\u", 4) : hex_escape(c, "\\U", 8);
    else out += from_code_points(std::u32string_view(&c, 1));
  }
  return out + quote;
}

std::string Value::str() const {
  if (is_undefined()) return "";
  if (is_string()) return as_string();
  return repr();
}

std::string Value::repr() const {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Undefined>) return "";
        else if constexpr (std::is_same_v<T, std::nullptr_t>) return "None";
        else if constexpr (std::is_same_v<T, bool>) return x ? "True" : "False";
        else if constexpr (std::is_same_v<T, int64_t>) return std::to_string(x);
        else if constexpr (std::is_same_v<T, double>) return python_float_repr(x);
        else if constexpr (std::is_same_v<T, std::string>) return python_string_repr(x);
        else if constexpr (std::is_same_v<T, List>) {
          std::string out = x->tuple ? "(" : "[";
          for (size_t i = 0; i < x->items.size(); ++i) out += (i ? ", " : "") + x->items[i].repr();
          if (x->tuple && x->items.size() == 1) out += ",";
          return out + (x->tuple ? ")" : "]");
        } else if constexpr (std::is_same_v<T, Dict>) {
          std::string out = "{";
          for (size_t i = 0; i < x->items.size(); ++i)
            out += (i ? ", " : "") + python_string_repr(x->items[i].first) + ": " + x->items[i].second.repr();
          return out + "}";
        } else if constexpr (std::is_same_v<T, std::shared_ptr<Namespace>>) return "<Namespace>";
        else return "<function>";
      },
      v_);
}

std::string Value::type_name() const {
  static const char* names[] = {"undefined", "NoneType", "bool", "int", "float", "str", "list", "dict object", "Namespace", "function"};
  if (is_list() && as_list().tuple) return "tuple";
  return names[v_.index()];
}

std::vector<Value> Value::iterate() const {
  if (is_list()) return as_list().items;
  if (is_undefined()) return {};
  std::vector<Value> out;
  if (is_dict()) {
    for (const auto& [k, v] : as_dict().items) out.emplace_back(k);
    return out;
  }
  if (is_string()) {
    for (char32_t c : to_code_points(as_string())) out.emplace_back(from_code_points(std::u32string_view(&c, 1)));
    return out;
  }
  throw Error("'" + type_name() + "' object is not iterable");
}

int64_t Value::length() const {
  if (is_string()) return static_cast<int64_t>(to_code_points(as_string()).size());
  if (is_list()) return static_cast<int64_t>(as_list().items.size());
  if (is_dict()) return static_cast<int64_t>(as_dict().items.size());
  if (is_namespace()) return static_cast<int64_t>(as_namespace().attributes.items.size());
  if (is_undefined()) return 0;
  throw Error("object of type '" + type_name() + "' has no len()");
}

std::string Value::to_json(bool ensure_ascii, std::optional<std::string> indent, const std::string& item_sep,
                           const std::string& key_sep, bool sort_keys) const {
  std::function<std::string(const Value&, int)> dump = [&](const Value& v, int level) -> std::string {
    const std::string open_pad = indent ? "\n" + [&] { std::string p; for (int i = 0; i <= level; ++i) p += *indent; return p; }() : "";
    const std::string close_pad = indent ? "\n" + [&] { std::string p; for (int i = 0; i < level; ++i) p += *indent; return p; }() : "";
    if (v.is_none()) return "null";
    if (v.is_bool()) return v.as_bool() ? "true" : "false";
    if (v.is_int()) return std::to_string(v.as_int());
    if (v.is_float()) {
      const double d = v.as_double();
      if (std::isnan(d)) return "NaN";
      if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
      return python_float_repr(d);
    }
    if (v.is_string()) return json_string(v.as_string(), ensure_ascii);
    if (v.is_list()) {
      if (v.as_list().items.empty()) return "[]";
      std::string out = "[" + open_pad;
      for (size_t i = 0; i < v.as_list().items.size(); ++i) out += (i ? item_sep + open_pad : "") + dump(v.as_list().items[i], level + 1);
      return out + close_pad + "]";
    }
    if (v.is_dict() || v.is_namespace()) {
      const ValueDict& d = v.is_dict() ? v.as_dict() : v.as_namespace().attributes;
      if (d.items.empty()) return "{}";
      std::vector<const std::pair<std::string, Value>*> items;
      for (const auto& kv : d.items) items.push_back(&kv);
      if (sort_keys) std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
      std::string out = "{" + open_pad;
      for (size_t i = 0; i < items.size(); ++i)
        out += (i ? item_sep + open_pad : "") + json_string(items[i]->first, ensure_ascii) + key_sep + dump(items[i]->second, level + 1);
      return out + close_pad + "}";
    }
    throw Error("Object of type " + v.type_name() + " is not JSON serializable");
  };
  return dump(*this, 0);
}

bool operator==(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
    return a.as_int() == b.as_int();
  }
  if (a.storage().index() != b.storage().index()) return false;
  if (a.is_undefined() || a.is_none()) return true;
  if (a.is_string()) return a.as_string() == b.as_string();
  if (a.is_list()) {
    const ValueList &x = a.as_list(), &y = b.as_list();
    return x.tuple == y.tuple && x.items.size() == y.items.size() && std::equal(x.items.begin(), x.items.end(), y.items.begin());
  }
  if (a.is_dict()) {
    const ValueDict &x = a.as_dict(), &y = b.as_dict();
    if (x.items.size() != y.items.size()) return false;
    for (const auto& [k, v] : x.items) {
      const Value* w = y.find(k);
      if (!w || !(*w == v)) return false;
    }
    return true;
  }
  if (a.is_namespace()) return &a.as_namespace() == &b.as_namespace();
  return &a.as_function() == &b.as_function();
}

int compare(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    const double x = a.as_double(), y = b.as_double();
    if (a.is_int() && b.is_int()) return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int();
    return x < y ? -1 : x > y;
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.as_string().compare(b.as_string());  // UTF-8 byte order is code point order
    return c < 0 ? -1 : c > 0;
  }
  if (a.is_list() && b.is_list() && a.as_list().tuple == b.as_list().tuple) {
    const auto &x = a.as_list().items, &y = b.as_list().items;
    for (size_t i = 0; i < x.size() && i < y.size(); ++i)
      if (!(x[i] == y[i])) return compare(x[i], y[i]);
    return x.size() < y.size() ? -1 : x.size() > y.size();
  }
  throw Error("'<' not supported between instances of '" + a.type_name() + "' and '" + b.type_name() + "'");
}

}  // namespace hifp8::jinja
