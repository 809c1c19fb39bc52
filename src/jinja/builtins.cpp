#include "jinja/builtins.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <ctime>
#include <map>

#include <utf8proc.h>

#include "hifp8/error.h"

namespace hifp8::jinja {
namespace {

// Python's ImmutableSandboxedEnvironment caps range() at this many items.
constexpr int64_t kMaxRange = 100000;

// Python's ints are unbounded; these are int64: an overflow is an Error, never undefined behaviour
// (UBSan in the jinja_template fuzz target: 4**40).
int64_t add_int(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) throw Error("integer overflow in +");
  return r;
}
int64_t sub_int(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) throw Error("integer overflow in -");
  return r;
}
int64_t mul_int(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) throw Error("integer overflow in *");
  return r;
}
int64_t to_int64(double d) {
  if (!(d > -9.2e18 && d < 9.2e18)) throw Error("the number " + python_float_repr(d) + " is out of the integer range");
  return static_cast<int64_t>(d);
}

// By value: callers pass temporaries as the fallback (a reference to one dangled: ASan, jinja_template).
Value arg(const CallArgs& a, size_t index, std::string_view name, const Value& fallback) {
  const Value* v = a.get(index, name);
  return v ? *v : fallback;
}
const Value kNone{nullptr};
const Value kUndefined{};
const Value kFalse{false};

std::string cased(const std::string& s, utf8proc_int32_t (*map)(utf8proc_int32_t)) {
  std::u32string cps = to_code_points(s);
  for (char32_t& c : cps) c = static_cast<char32_t>(map(static_cast<utf8proc_int32_t>(c)));
  return from_code_points(cps);
}
std::string upper(const std::string& s) { return cased(s, utf8proc_toupper); }
std::string lower(const std::string& s) { return cased(s, utf8proc_tolower); }

bool is_cased_letter(char32_t c) {
  return utf8proc_toupper(static_cast<utf8proc_int32_t>(c)) != static_cast<utf8proc_int32_t>(c) ||
         utf8proc_tolower(static_cast<utf8proc_int32_t>(c)) != static_cast<utf8proc_int32_t>(c);
}

std::string capitalize(const std::string& s) {
  std::u32string c = to_code_points(lower(s));
  if (!c.empty()) c[0] = static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c[0])));
  return from_code_points(c);
}

// Python str.title(): a cased character after an uncased one starts a word.
std::string title(const std::string& s) {
  std::u32string c = to_code_points(s);
  bool previous_cased = false;
  for (char32_t& x : c) {
    const auto v = static_cast<utf8proc_int32_t>(x);
    x = static_cast<char32_t>(previous_cased ? utf8proc_tolower(v) : utf8proc_toupper(v));
    previous_cased = is_cased_letter(x);
  }
  return from_code_points(c);
}

std::string strip(const std::string& s, const Value& chars, bool left, bool right) {
  std::u32string c = to_code_points(s), set;
  const bool whitespace = chars.is_none() || chars.is_undefined();
  if (!whitespace) set = to_code_points(chars.str());
  auto drop = [&](char32_t x) { return whitespace ? python_isspace(x) : set.find(x) != std::u32string::npos; };
  size_t b = 0, e = c.size();
  if (left)
    while (b < e && drop(c[b])) ++b;
  if (right)
    while (e > b && drop(c[e - 1])) --e;
  return from_code_points(std::u32string_view(c).substr(b, e - b));
}

std::vector<Value> split(const std::string& s, const Value& sep, int64_t maxsplit, bool from_right) {
  std::vector<Value> out;
  if (sep.is_none() || sep.is_undefined()) {  // runs of whitespace; no empty pieces
    std::u32string c = to_code_points(s);
    std::vector<std::pair<size_t, size_t>> words;
    for (size_t i = 0; i < c.size();) {
      while (i < c.size() && python_isspace(c[i])) ++i;
      size_t j = i;
      while (j < c.size() && !python_isspace(c[j])) ++j;
      if (j > i) words.emplace_back(i, j);
      i = j;
    }
    if (maxsplit >= 0 && maxsplit < static_cast<int64_t>(words.size()) - 1) {
      if (!from_right) {
        words[maxsplit].second = c.size();
        while (words[maxsplit].second > 0 && python_isspace(c[words[maxsplit].second - 1])) --words[maxsplit].second;
        words.resize(maxsplit + 1);
      } else {
        const size_t keep = words.size() - maxsplit - 1;
        words[keep].first = 0;
        while (python_isspace(c[words[keep].first])) ++words[keep].first;
        words.erase(words.begin(), words.begin() + static_cast<long>(keep));
      }
    }
    for (auto [i, j] : words) out.emplace_back(from_code_points(std::u32string_view(c).substr(i, j - i)));
    return out;
  }
  const std::string d = sep.str();
  if (d.empty()) throw Error("split(): empty separator");
  std::vector<std::string> pieces;
  if (!from_right) {
    size_t at = 0;
    for (int64_t n = 0; maxsplit < 0 || n < maxsplit; ++n) {
      const size_t f = s.find(d, at);
      if (f == std::string::npos) break;
      pieces.push_back(s.substr(at, f - at));
      at = f + d.size();
    }
    pieces.push_back(s.substr(at));
  } else {
    size_t end = s.size();
    for (int64_t n = 0; maxsplit < 0 || n < maxsplit; ++n) {
      if (end < d.size()) break;
      const size_t f = s.rfind(d, end - d.size());
      if (f == std::string::npos) break;
      pieces.insert(pieces.begin(), s.substr(f + d.size(), end - f - d.size()));
      end = f;
    }
    pieces.insert(pieces.begin(), s.substr(0, end));
  }
  for (auto& p : pieces) out.emplace_back(std::move(p));
  return out;
}

std::string replace(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
  if (from.empty()) {  // Python inserts `to` before every character and at the end
    std::string out;
    int64_t n = 0;
    for (char32_t c : to_code_points(s)) {
      if (count < 0 || n++ < count) out += to;
      out += from_code_points(std::u32string_view(&c, 1));
    }
    return (count < 0 || n < count) ? out + to : out;
  }
  std::string out;
  size_t at = 0;
  for (int64_t n = 0; count < 0 || n < count; ++n) {
    const size_t f = s.find(from, at);
    if (f == std::string::npos) break;
    out += s.substr(at, f - at) + to;
    at = f + from.size();
  }
  return out + s.substr(std::min(at, s.size()));
}

bool starts_or_ends(const std::string& s, const Value& affix, bool start) {
  if (affix.is_list()) return std::any_of(affix.as_list().items.begin(), affix.as_list().items.end(),
                                          [&](const Value& a) { return starts_or_ends(s, a, start); });
  if (!affix.is_string()) throw Error(std::string(start ? "startswith" : "endswith") + "() takes a string or a tuple of strings");
  const std::string& a = affix.as_string();
  if (a.size() > s.size()) return false;
  return start ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0;
}

int64_t count_substring(const std::string& s, const std::string& sub) {
  if (sub.empty()) return static_cast<int64_t>(to_code_points(s).size()) + 1;
  int64_t n = 0;
  for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++n;
  return n;
}

int64_t code_point_index(const std::string& s, size_t byte_offset) {
  return byte_offset == std::string::npos ? -1 : static_cast<int64_t>(to_code_points(s.substr(0, byte_offset)).size());
}

// Python str.format with {} / {0} / {name} fields (no format specs).
std::string format_fields(const std::string& f, const CallArgs& a) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] == '{' && i + 1 < f.size() && f[i + 1] == '{') out += '{', ++i;
    else if (f[i] == '}' && i + 1 < f.size() && f[i + 1] == '}') out += '}', ++i;
    else if (f[i] == '{') {
      const size_t close = f.find('}', i);
      if (close == std::string::npos) throw Error("format(): single '{' in the format string");
      const std::string field = f.substr(i + 1, close - i - 1);
      const Value* v = nullptr;
      if (field.empty()) v = a.get(auto_index++, "\x01");
      else if (field.size() < 9 && std::all_of(field.begin(), field.end(), ::isdigit)) v = a.get(std::stoul(field), "\x01");
      else v = a.get(SIZE_MAX, field);
      if (!v) throw Error("format(): no argument for {" + field + "}");
      out += v->str();
      i = close;
    } else out += f[i];
  }
  return out;
}

// Python's printf-style `"%s" % x`, as Jinja's `format` filter uses: %s %r %d %i %f %%.
std::string percent_format(const std::string& f, const std::vector<Value>& values) {
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    if (++i == f.size()) throw Error("format: incomplete format");
    if (f[i] == '%') {
      out += '%';
      continue;
    }
    if (next >= values.size()) throw Error("format: not enough arguments for format string");
    const Value& v = values[next++];
    switch (f[i]) {
      case 's': out += v.str(); break;
      case 'r': out += v.repr(); break;
      case 'd': case 'i': out += std::to_string(v.is_float() ? to_int64(v.as_double()) : v.as_int()); break;
      case 'f': {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%f", v.as_double());
        out += buf;
        break;
      }
      default: throw Error(std::string("format: unsupported conversion %") + f[i]);
    }
  }
  if (next != values.size()) throw Error("format: not all arguments converted during string formatting");
  return out;
}

Value bound(Function f) { return Value(std::move(f)); }

Value string_method(const std::string& s, const std::string& name) {
  if (name == "strip" || name == "lstrip" || name == "rstrip")
    return bound([s, name](const CallArgs& a) -> Value { return strip(s, arg(a, 0, "chars", kNone), name != "rstrip", name != "lstrip"); });
  if (name == "split" || name == "rsplit")
    return bound([s, name](const CallArgs& a) -> Value {
      const Value m = arg(a, 1, "maxsplit", Value(-1));
      return Value(split(s, arg(a, 0, "sep", kNone), m.as_int(), name == "rsplit"));
    });
  if (name == "startswith" || name == "endswith")
    return bound([s, name](const CallArgs& a) -> Value { return starts_or_ends(s, arg(a, 0, "prefix", kUndefined), name == "startswith"); });
  if (name == "upper") return bound([s](const CallArgs&) -> Value { return upper(s); });
  if (name == "lower") return bound([s](const CallArgs&) -> Value { return lower(s); });
  if (name == "title") return bound([s](const CallArgs&) -> Value { return title(s); });
  if (name == "capitalize") return bound([s](const CallArgs&) -> Value { return capitalize(s); });
  if (name == "replace")
    return bound([s](const CallArgs& a) -> Value {
      return replace(s, arg(a, 0, "old", Value("")).str(), arg(a, 1, "new", Value("")).str(), arg(a, 2, "count", Value(-1)).as_int());
    });
  if (name == "find" || name == "rfind" || name == "index")
    return bound([s, name](const CallArgs& a) -> Value {
      const std::string sub = arg(a, 0, "sub", Value("")).str();
      const int64_t i = code_point_index(s, name == "rfind" ? s.rfind(sub) : s.find(sub));
      if (i < 0 && name == "index") throw Error("index(): substring not found");
      return i;
    });
  if (name == "count") return bound([s](const CallArgs& a) -> Value { return count_substring(s, arg(a, 0, "x", Value("")).str()); });
  if (name == "join")
    return bound([s](const CallArgs& a) -> Value {
      std::string out;
      const std::vector<Value> items = arg(a, 0, "iterable", kUndefined).iterate();
      for (size_t i = 0; i < items.size(); ++i) out += (i ? s : "") + items[i].str();
      return out;
    });
  if (name == "splitlines")
    return bound([s](const CallArgs&) -> Value {
      std::vector<Value> lines;
      size_t at = 0;
      while (at < s.size()) {
        size_t e = s.find('\n', at);
        if (e == std::string::npos) e = s.size();
        std::string line = s.substr(at, e - at);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines.emplace_back(std::move(line));
        at = e + 1;
      }
      return Value(std::move(lines));
    });
  if (name == "format") return bound([s](const CallArgs& a) -> Value { return format_fields(s, a); });
  if (name == "removeprefix" || name == "removesuffix")
    return bound([s, name](const CallArgs& a) -> Value {
      const Value x = arg(a, 0, "x", Value(""));
      if (!starts_or_ends(s, x, name == "removeprefix")) return s;
      const size_t n = x.as_string().size();
      return name == "removeprefix" ? s.substr(n) : s.substr(0, s.size() - n);
    });
  auto predicate = [&](bool (*test)(char32_t)) {
    return bound([s, test](const CallArgs&) -> Value {
      const std::u32string c = to_code_points(s);
      return !c.empty() && std::all_of(c.begin(), c.end(), test);
    });
  };
  if (name == "isspace") return predicate(python_isspace);
  if (name == "isdigit") return predicate([](char32_t c) { return utf8proc_category(static_cast<utf8proc_int32_t>(c)) == UTF8PROC_CATEGORY_ND; });
  if (name == "isalpha")
    return predicate([](char32_t c) {
      const auto k = utf8proc_category(static_cast<utf8proc_int32_t>(c));
      return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
    });
  if (name == "isalnum")
    return predicate([](char32_t c) {
      const auto k = utf8proc_category(static_cast<utf8proc_int32_t>(c));
      return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) || (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
    });
  if (name == "isupper") return bound([s](const CallArgs&) -> Value { return upper(s) == s && lower(s) != s; });
  if (name == "islower") return bound([s](const CallArgs&) -> Value { return lower(s) == s && upper(s) != s; });
  return Undefined{"'str object' has no attribute '" + name + "'"};
}

Value items_of(const ValueDict& d) {
  std::vector<Value> out;
  for (const auto& [k, v] : d.items) out.emplace_back(std::vector<Value>{Value(k), v}, true);
  return Value(std::move(out));
}

Value dict_method(const Value::Dict& d, const std::string& name) {
  if (name == "items") return bound([d](const CallArgs&) { return items_of(*d); });
  if (name == "keys")
    return bound([d](const CallArgs&) {
      std::vector<Value> out;
      for (const auto& kv : d->items) out.emplace_back(kv.first);
      return Value(std::move(out));
    });
  if (name == "values")
    return bound([d](const CallArgs&) {
      std::vector<Value> out;
      for (const auto& kv : d->items) out.push_back(kv.second);
      return Value(std::move(out));
    });
  if (name == "get")
    return bound([d](const CallArgs& a) -> Value {
      const Value* v = arg(a, 0, "key", kUndefined).is_string() ? d->find(arg(a, 0, "key", kUndefined).as_string()) : nullptr;
      return v ? *v : arg(a, 1, "default", kNone);
    });
  return Value();
}

bool is_unsafe_mutator(const std::string& name) {
  static const char* names[] = {"append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",
                                "update", "setdefault", "popitem", "add", "discard"};
  return std::any_of(std::begin(names), std::end(names), [&](const char* n) { return name == n; });
}

int64_t normalize_index(int64_t i, int64_t size) { return i < 0 ? i + size : i; }

Value sequence_of(const Value& subject) { return Value(subject.iterate()); }

// The attribute a filter names ("a.b" walks nested, "0" indexes), as Jinja's make_attrgetter.
Value attribute_path(const Value& v, const std::string& path) {
  Value cur = v;
  size_t at = 0;
  while (at <= path.size()) {
    size_t dot = path.find('.', at);
    if (dot == std::string::npos) dot = path.size();
    const std::string part = path.substr(at, dot - at);
    if (!part.empty() && part.size() < 18 && std::all_of(part.begin(), part.end(), ::isdigit)) cur = get_item(cur, Value(static_cast<int64_t>(std::stoll(part))));
    else cur = get_item(cur, Value(part));
    at = dot + 1;
  }
  return cur;
}

// select/reject/selectattr/rejectattr: keep items whose test (or truth) is `keep`.
Value select_items(const Value& subject, const CallArgs& a, bool by_attribute, bool keep) {
  size_t next = 0;
  std::string attribute;
  if (by_attribute) attribute = arg(a, next++, "attribute", kUndefined).str();
  const Value* test = a.get(next++, "\x01");
  CallArgs rest;
  for (size_t i = next; i < a.positional.size(); ++i) rest.positional.push_back(a.positional[i]);
  std::vector<Value> out;
  for (const Value& item : subject.iterate()) {
    const Value x = by_attribute ? attribute_path(item, attribute) : item;
    const bool pass = test ? apply_test(test->str(), x, rest) : x.truthy();
    if (pass == keep) out.push_back(item);
  }
  return Value(std::move(out));
}

Value sort_key(const Value& v, bool case_sensitive) {
  return !case_sensitive && v.is_string() ? Value(lower(v.as_string())) : v;
}

Value extreme(const Value& subject, const CallArgs& a, bool want_max) {
  const bool cs = arg(a, 0, "case_sensitive", kFalse).truthy();
  const Value attr = arg(a, 1, "attribute", kNone);
  const std::vector<Value> items = subject.iterate();
  if (items.empty()) return Undefined{"No aggregated item, sequence was empty."};
  const Value* best = &items[0];
  auto key = [&](const Value& v) { return sort_key(attr.is_none() ? v : attribute_path(v, attr.str()), cs); };
  for (const Value& v : items) {
    const int c = compare(key(v), key(*best));
    if (want_max ? c > 0 : c < 0) best = &v;
  }
  return *best;
}

std::string indent_text(const std::string& s, const Value& width, bool first, bool blank) {
  const std::string pad = width.is_string() ? width.as_string() : std::string(static_cast<size_t>(std::max<int64_t>(0, width.as_int())), ' ');
  std::string out;
  size_t at = 0;
  bool first_line = true;
  while (at <= s.size()) {
    size_t e = s.find('\n', at);
    const bool last = e == std::string::npos;
    if (last) e = s.size();
    const std::string line = s.substr(at, e - at);
    const bool add = first_line ? first : (blank || !line.empty());
    out += (add ? pad : "") + line + (last ? "" : "\n");
    first_line = false;
    at = e + 1;
    if (last) break;
  }
  return out;
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

Value to_int(const Value& v, const Value& fallback) {
  if (v.is_int() || v.is_bool()) return v.as_int();
  if (v.is_float()) return to_int64(v.as_double());
  if (v.is_string()) {
    const std::string s = strip(v.as_string(), kNone, true, true);
    try {
      size_t used = 0;
      const long long i = std::stoll(s, &used);
      if (used == s.size()) return static_cast<int64_t>(i);
      const double d = std::stod(s, &used);
      if (used == s.size()) return to_int64(d);
    } catch (const std::exception&) {
    }
  }
  return fallback;
}

Value to_float(const Value& v, const Value& fallback) {
  if (v.is_number()) return v.as_double();
  if (v.is_string()) {
    try {
      size_t used = 0;
      const std::string s = strip(v.as_string(), kNone, true, true);
      const double d = std::stod(s, &used);
      if (used == s.size()) return d;
    } catch (const std::exception&) {
    }
  }
  return fallback;
}

Value round_value(const Value& v, int64_t precision, const std::string& method) {
  require_defined(v);
  if (method == "common" && precision > 0 && precision < 300) {
    // Python's round(x, n) rounds the exact binary value (2.675 is 2.67499...): so does printf.
    char buf[400];
    std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(precision), v.as_double());
    return std::strtod(buf, nullptr);
  }
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double x = v.as_double() * scale;
  double r;
  if (method == "common") r = std::nearbyint(x);  // Python round(): ties to even
  else if (method == "ceil") r = std::ceil(x);
  else if (method == "floor") r = std::floor(x);
  else throw Error("round: method must be common, ceil or floor");
  return r / scale;
}

thread_local std::vector<std::shared_ptr<Namespace>>* t_namespaces = nullptr;

}  // namespace

NamespaceCollector::NamespaceCollector() : outer_(t_namespaces) { t_namespaces = &made_; }

NamespaceCollector::~NamespaceCollector() {
  for (const auto& ns : made_) ns->attributes.items.clear();
  t_namespaces = outer_;
}

void require_defined(const Value& v) {
  if (v.is_undefined()) throw Error(v.as_undefined().hint.empty() ? "undefined value used" : v.as_undefined().hint);
}

Value get_attribute(const Value& object, const std::string& name) {
  require_defined(object);
  if (object.is_namespace()) {
    const Value* v = object.as_namespace().attributes.find(name);
    return v ? *v : Value(Undefined{"'Namespace' has no attribute '" + name + "'"});
  }
  if (object.is_string()) return string_method(object.as_string(), name);
  if (object.is_dict()) {
    Value m = dict_method(std::get<Value::Dict>(object.storage()), name);
    if (!m.is_undefined()) return m;
  }
  if ((object.is_dict() || object.is_list()) && is_unsafe_mutator(name))
    throw Error("access to attribute '" + name + "' of '" + object.type_name() + "' object is unsafe (the template environment is immutable)");
  if (object.is_list() && (name == "index" || name == "count")) {
    const Value list = object;
    return bound([list, name](const CallArgs& a) -> Value {
      const Value x = arg(a, 0, "x", kUndefined);
      const auto& items = list.as_list().items;
      if (name == "count") return static_cast<int64_t>(std::count(items.begin(), items.end(), x));
      const auto it = std::find(items.begin(), items.end(), x);
      if (it == items.end()) throw Error("list.index(x): x not in list");
      return static_cast<int64_t>(it - items.begin());
    });
  }
  // A dict's keys are attributes too; other objects have no more (get_item's string keys come here:
  // falling back to get_item for them recursed forever: the jinja_template fuzz target).
  if (object.is_dict()) return get_item(object, Value(name));
  return Undefined{"'" + object.type_name() + "' object has no attribute '" + name + "'"};
}

Value get_item(const Value& object, const Value& key) {
  require_defined(object);
  if (object.is_dict()) {
    if (key.is_string())
      if (const Value* v = object.as_dict().find(key.as_string())) return *v;
    return Undefined{"'dict object' has no attribute '" + key.str() + "'"};
  }
  if (object.is_namespace() && key.is_string()) return get_attribute(object, key.as_string());
  if ((object.is_list() || object.is_string()) && (key.is_int() || key.is_bool())) {
    if (object.is_list()) {
      const auto& items = object.as_list().items;
      const int64_t i = normalize_index(key.as_int(), static_cast<int64_t>(items.size()));
      if (i >= 0 && i < static_cast<int64_t>(items.size())) return items[static_cast<size_t>(i)];
    } else {
      const std::u32string c = to_code_points(object.as_string());
      const int64_t i = normalize_index(key.as_int(), static_cast<int64_t>(c.size()));
      if (i >= 0 && i < static_cast<int64_t>(c.size())) return from_code_points(std::u32string_view(c).substr(static_cast<size_t>(i), 1));
    }
    return Undefined{object.type_name() + " object has no element " + key.str()};
  }
  if (key.is_string() && (object.is_string() || object.is_list())) return get_attribute(object, key.as_string());
  return Undefined{"'" + object.type_name() + "' object has no attribute '" + key.str() + "'"};
}

Value slice(const Value& object, const Value& start, const Value& stop, const Value& step_value) {
  require_defined(object);
  const int64_t step = step_value.is_none() || step_value.is_undefined() ? 1 : step_value.as_int();
  if (step == 0) throw Error("slice step cannot be zero");
  std::vector<Value> items;
  std::u32string chars;
  int64_t n;
  if (object.is_list()) items = object.as_list().items, n = static_cast<int64_t>(items.size());
  else if (object.is_string()) chars = to_code_points(object.as_string()), n = static_cast<int64_t>(chars.size());
  else throw Error("'" + object.type_name() + "' object is not subscriptable");
  // Python's slice.indices().
  auto bound_index = [&](const Value& v, int64_t dflt) {
    if (v.is_none() || v.is_undefined()) return dflt;
    int64_t i = v.as_int();
    if (i < 0) i += n;
    if (step > 0) return std::clamp<int64_t>(i, 0, n);
    return std::clamp<int64_t>(i, -1, n - 1);
  };
  const int64_t b = bound_index(start, step > 0 ? 0 : n - 1), e = bound_index(stop, step > 0 ? n : -1);
  std::vector<Value> out_items;
  std::u32string out_chars;
  for (int64_t i = b; step > 0 ? i < e : i > e;) {
    if (object.is_list()) out_items.push_back(items[static_cast<size_t>(i)]);
    else out_chars.push_back(chars[static_cast<size_t>(i)]);
    if (__builtin_add_overflow(i, step, &i)) break;  // past any end
  }
  if (object.is_string()) return from_code_points(out_chars);
  return Value(std::move(out_items), object.as_list().tuple);
}

Value binary_operator(const std::string& op, const Value& a, const Value& b) {
  require_defined(a);
  require_defined(b);
  const bool numbers = a.is_number() && b.is_number();
  const bool ints = numbers && !a.is_float() && !b.is_float();
  if (op == "+") {
    if (ints) return add_int(a.as_int(), b.as_int());
    if (numbers) return a.as_double() + b.as_double();
    if (a.is_string() && b.is_string()) return a.as_string() + b.as_string();
    if (a.is_list() && b.is_list()) {
      std::vector<Value> out = a.as_list().items;
      out.insert(out.end(), b.as_list().items.begin(), b.as_list().items.end());
      return Value(std::move(out), a.as_list().tuple);
    }
  } else if (op == "-") {
    if (ints) return sub_int(a.as_int(), b.as_int());
    if (numbers) return a.as_double() - b.as_double();
  } else if (op == "*") {
    if (ints) return mul_int(a.as_int(), b.as_int());
    if (numbers) return a.as_double() * b.as_double();
    const Value& seq = a.is_number() ? b : a;
    const Value& times = a.is_number() ? a : b;
    if ((seq.is_string() || seq.is_list()) && (times.is_int() || times.is_bool())) {
      const int64_t n = std::max<int64_t>(0, times.as_int());
      if (n * std::max<int64_t>(1, seq.length()) > 10'000'000) throw Error("repetition result too large");
      if (seq.is_string()) {
        std::string out;
        for (int64_t i = 0; i < n; ++i) out += seq.as_string();
        return out;
      }
      std::vector<Value> out;
      for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.as_list().items.begin(), seq.as_list().items.end());
      return Value(std::move(out), seq.as_list().tuple);
    }
  } else if (op == "/") {
    if (numbers) {
      if (b.as_double() == 0) throw Error("division by zero");
      return a.as_double() / b.as_double();
    }
  } else if (op == "//" || op == "%") {
    if (numbers) {
      if (b.as_double() == 0) throw Error(op == "%" ? "modulo by zero" : "integer division by zero");
      if (ints) {
        const int64_t x = a.as_int(), y = b.as_int();
        if (x == INT64_MIN && y == -1) throw Error("integer overflow in " + op);
        int64_t q = x / y, r = x % y;
        if (r != 0 && ((r < 0) != (y < 0))) --q, r += y;  // Python floors
        return op == "//" ? q : r;
      }
      const double x = a.as_double(), y = b.as_double();
      const double q = std::floor(x / y);
      return op == "//" ? q : x - q * y;
    }
    if (op == "%" && a.is_string()) return percent_format(a.as_string(), b.is_list() && b.as_list().tuple ? b.as_list().items : std::vector<Value>{b});
  } else if (op == "**") {
    if (ints && b.as_int() >= 0) {
      int64_t r = 1;
      for (int64_t i = 0; i < b.as_int(); ++i) r = mul_int(r, a.as_int());
      return r;
    }
    if (numbers) return std::pow(a.as_double(), b.as_double());
  }
  throw Error("unsupported operand types for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
}

bool contains(const Value& container, const Value& item) {
  if (container.is_string()) {
    if (!item.is_string()) throw Error("'in <string>' requires string as left operand, not " + item.type_name());
    return container.as_string().find(item.as_string()) != std::string::npos;
  }
  if (container.is_dict()) return item.is_string() && container.as_dict().find(item.as_string()) != nullptr;
  if (container.is_list()) {
    const auto& items = container.as_list().items;
    return std::find(items.begin(), items.end(), item) != items.end();
  }
  if (container.is_undefined()) return false;
  throw Error("argument of type '" + container.type_name() + "' is not iterable");
}

Value apply_filter(const std::string& name, const Value& subject, const CallArgs& a) {
  if (name == "default" || name == "d") {
    const bool boolean = arg(a, 1, "boolean", kFalse).truthy();
    return subject.is_undefined() || (boolean && !subject.truthy()) ? arg(a, 0, "default_value", Value("")) : subject;
  }
  if (name == "tojson") {
    // transformers' tojson: json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)
    const Value indent = arg(a, 0, "indent", kNone);
    const Value separators = arg(a, 2, "separators", kNone);
    std::optional<std::string> pad;
    if (indent.is_string()) pad = indent.as_string();
    else if (!indent.is_none() && !indent.is_undefined()) pad = std::string(static_cast<size_t>(std::max<int64_t>(0, indent.as_int())), ' ');
    std::string item_sep = pad ? "," : ", ", key_sep = ": ";
    if (separators.is_list() && separators.as_list().items.size() == 2)
      item_sep = separators.as_list().items[0].str(), key_sep = separators.as_list().items[1].str();
    return subject.to_json(arg(a, 1, "ensure_ascii", kFalse).truthy(), pad, item_sep, key_sep, arg(a, 3, "sort_keys", kFalse).truthy());
  }
  if (name == "length" || name == "count") return subject.length();
  if (name == "string") return subject.str();
  if (name == "list") return sequence_of(subject);
  if (name == "safe") return subject;
  if (name == "escape" || name == "e") return html_escape(subject.str());
  if (name == "trim") return strip(subject.str(), arg(a, 0, "chars", kNone), true, true);
  if (name == "upper") return upper(subject.str());
  if (name == "lower") return lower(subject.str());
  if (name == "title") return title(subject.str());
  if (name == "capitalize") return capitalize(subject.str());
  if (name == "replace")
    return replace(subject.str(), arg(a, 0, "old", Value("")).str(), arg(a, 1, "new", Value("")).str(),
                   arg(a, 2, "count", kNone).is_none() ? -1 : arg(a, 2, "count", kNone).as_int());
  if (name == "wordcount") return static_cast<int64_t>(split(subject.str(), kNone, -1, false).size());
  if (name == "indent")
    return indent_text(subject.str(), arg(a, 0, "width", Value(4)), arg(a, 1, "first", kFalse).truthy(), arg(a, 2, "blank", kFalse).truthy());
  if (name == "format") return percent_format(subject.str(), a.positional);
  if (name == "int") return to_int(subject, arg(a, 0, "default", Value(0)));
  if (name == "float") return to_float(subject, arg(a, 0, "default", Value(0.0)));
  if (name == "abs") {
    require_defined(subject);
    if (subject.is_int() || subject.is_bool()) return subject.as_int() < 0 ? sub_int(0, subject.as_int()) : subject.as_int();
    return std::fabs(subject.as_double());
  }
  if (name == "round") return round_value(subject, arg(a, 0, "precision", Value(0)).as_int(), arg(a, 1, "method", Value("common")).str());
  if (name == "first" || name == "last") {
    const std::vector<Value> items = subject.iterate();
    if (items.empty()) return Undefined{"No " + name + " item, sequence was empty."};
    return name == "first" ? items.front() : items.back();
  }
  if (name == "reverse") {
    if (subject.is_string()) {
      std::u32string c = to_code_points(subject.as_string());
      std::reverse(c.begin(), c.end());
      return from_code_points(c);
    }
    std::vector<Value> items = subject.iterate();
    std::reverse(items.begin(), items.end());
    return Value(std::move(items));
  }
  if (name == "join") {
    const std::string sep = arg(a, 0, "d", Value("")).str();
    const Value attr = arg(a, 1, "attribute", kNone);
    std::string out;
    const std::vector<Value> items = subject.iterate();
    for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + (attr.is_none() ? items[i] : attribute_path(items[i], attr.str())).str();
    return out;
  }
  if (name == "items") {
    if (subject.is_undefined()) return Value(std::vector<Value>{});
    if (!subject.is_dict()) throw Error("items filter: expected a mapping, got " + subject.type_name());
    return items_of(subject.as_dict());
  }
  if (name == "dictsort") {
    if (!subject.is_dict()) throw Error("dictsort filter: expected a mapping, got " + subject.type_name());
    const bool cs = arg(a, 0, "case_sensitive", kFalse).truthy();
    const bool by_value = arg(a, 1, "by", Value("key")).str() == "value";
    std::vector<Value> items = items_of(subject.as_dict()).as_list().items;
    std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
      return compare(sort_key(x.as_list().items[by_value], cs), sort_key(y.as_list().items[by_value], cs)) < 0;
    });
    if (arg(a, 2, "reverse", kFalse).truthy()) std::reverse(items.begin(), items.end());
    return Value(std::move(items));
  }
  if (name == "sort") {
    const bool reverse = arg(a, 0, "reverse", kFalse).truthy(), cs = arg(a, 1, "case_sensitive", kFalse).truthy();
    const Value attr = arg(a, 2, "attribute", kNone);
    std::vector<Value> items = subject.iterate();
    auto key = [&](const Value& v) { return sort_key(attr.is_none() ? v : attribute_path(v, attr.str()), cs); };
    std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
      return reverse ? compare(key(y), key(x)) < 0 : compare(key(x), key(y)) < 0;
    });
    return Value(std::move(items));
  }
  if (name == "unique") {
    const bool cs = arg(a, 0, "case_sensitive", kFalse).truthy();
    const Value attr = arg(a, 1, "attribute", kNone);
    std::vector<Value> out, seen;
    for (const Value& v : subject.iterate()) {
      Value k = sort_key(attr.is_none() ? v : attribute_path(v, attr.str()), cs);
      if (std::find(seen.begin(), seen.end(), k) != seen.end()) continue;
      seen.push_back(std::move(k));
      out.push_back(v);
    }
    return Value(std::move(out));
  }
  if (name == "min" || name == "max") return extreme(subject, a, name == "max");
  if (name == "sum") {
    const Value attr = arg(a, 0, "attribute", kNone);
    Value total = arg(a, 1, "start", Value(0));
    for (const Value& v : subject.iterate()) total = binary_operator("+", total, attr.is_none() ? v : attribute_path(v, attr.str()));
    return total;
  }
  if (name == "select" || name == "reject") return select_items(subject, a, false, name == "select");
  if (name == "selectattr" || name == "rejectattr") return select_items(subject, a, true, name == "selectattr");
  if (name == "map") {
    std::vector<Value> out;
    const Value* attribute = nullptr;
    for (const auto& [k, v] : a.keyword)
      if (k == "attribute") attribute = &v;
    if (attribute) {
      const Value dflt = arg(CallArgs{{}, a.keyword}, SIZE_MAX, "default", kUndefined);
      for (const Value& v : subject.iterate()) {
        Value x = attribute_path(v, attribute->str());
        out.push_back(x.is_undefined() && !dflt.is_undefined() ? dflt : x);
      }
    } else {
      if (a.positional.empty()) throw Error("map filter: give a filter name or attribute=");
      CallArgs rest{{a.positional.begin() + 1, a.positional.end()}, a.keyword};
      for (const Value& v : subject.iterate()) out.push_back(apply_filter(a.positional[0].str(), v, rest));
    }
    return Value(std::move(out));
  }
  if (name == "attr") return get_attribute(subject, arg(a, 0, "name", Value("")).str());
  throw Error("no filter named '" + name + "'");
}

bool apply_test(const std::string& name, const Value& v, const CallArgs& a) {
  const Value x = arg(a, 0, "other", kUndefined);
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable") return v.is_list() || v.is_dict() || v.is_string() || v.is_undefined();
  if (name == "sequence") return v.is_list() || v.is_dict() || v.is_string();
  if (name == "callable") return v.is_function() || v.is_undefined();  // jinja2's Undefined has __call__
  if (name == "even" || name == "odd") {
    require_defined(v);
    if (!(v.is_int() || v.is_bool())) throw Error("the " + name + " test needs an integer");
    return (v.as_int() % 2 == 0) == (name == "even");
  }
  if (name == "divisibleby") {
    if (x.as_int() == 0) throw Error("divisibleby 0");
    return x.as_int() == -1 || v.as_int() % x.as_int() == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return v == x;
  if (name == "ne" || name == "!=") return !(v == x);
  if (name == "lt" || name == "lessthan" || name == "<") return compare(v, x) < 0;
  if (name == "le" || name == "<=") return compare(v, x) <= 0;
  if (name == "gt" || name == "greaterthan" || name == ">") return compare(v, x) > 0;
  if (name == "ge" || name == ">=") return compare(v, x) >= 0;
  if (name == "in") return contains(x, v);
  if (name == "sameas") {
    if (v.is_none() || v.is_bool() || v.is_undefined()) return v.storage().index() == x.storage().index() && v == x;
    return v.storage().index() == x.storage().index() && v == x && (v.is_int() || v.is_float() || v.is_string());
  }
  if (name == "lower") return v.is_string() && lower(v.as_string()) == v.as_string();
  if (name == "upper") return v.is_string() && upper(v.as_string()) == v.as_string();
  if (name == "escaped") return false;
  throw Error("no test named '" + name + "'");
}

Value global_function(const std::string& name) {
  if (name == "range")
    return bound([](const CallArgs& a) -> Value {
      int64_t start = 0, stop, step = 1;
      if (a.positional.size() == 1) stop = a.positional[0].as_int();
      else if (a.positional.size() >= 2) {
        start = a.positional[0].as_int(), stop = a.positional[1].as_int();
        if (a.positional.size() > 2) step = a.positional[2].as_int();
      } else throw Error("range expected at least 1 argument");
      if (step == 0) throw Error("range() arg 3 must not be zero");
      std::vector<Value> out;
      for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
        if (static_cast<int64_t>(out.size()) >= kMaxRange) throw Error("range too big (more than 100000 items)");
        out.emplace_back(i);
        if (__builtin_add_overflow(i, step, &i)) break;
      }
      return Value(std::move(out));
    });
  if (name == "namespace" || name == "dict")
    return bound([name](const CallArgs& a) -> Value {
      ValueDict d;
      for (const Value& p : a.positional) {
        if (!p.is_dict()) throw Error(name + "() takes keyword arguments or a mapping");
        for (const auto& [k, v] : p.as_dict().items) d.set(k, v);
      }
      for (const auto& [k, v] : a.keyword) d.set(k, v);
      if (name == "dict") return Value(std::move(d));
      auto ns = std::make_shared<Namespace>();
      ns->attributes = std::move(d);
      if (t_namespaces) t_namespaces->push_back(ns);
      return Value(ns);
    });
  if (name == "raise_exception")
    return bound([](const CallArgs& a) -> Value { throw Error("raise_exception: " + arg(a, 0, "message", Value("")).str()); });
  if (name == "strftime_now")
    return bound([](const CallArgs& a) -> Value {
      const std::time_t now = std::time(nullptr);
      std::tm local{};
      localtime_r(&now, &local);
      char buf[256];
      const size_t n = std::strftime(buf, sizeof buf, arg(a, 0, "format", Value("")).str().c_str(), &local);
      return std::string(buf, n);
    });
  return Value();
}

}  // namespace hifp8::jinja
