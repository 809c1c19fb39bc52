#include "hifp8/io/json_fields.h"

#include <cmath>

#include "hifp8/error.h"

namespace hifp8::io {
namespace {

std::string shown(const nlohmann::json& v) {
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return std::string(v.type_name()) + " " + s;
}

}  // namespace

JsonFields::JsonFields(const nlohmann::json& object, std::string where) : object_(object), where_(std::move(where)) {
  if (!object_.is_object()) throw Error(where_ + " must be a JSON object (got " + shown(object_) + ")");
}

bool JsonFields::has(const std::string& key) const {
  const auto it = object_.find(key);
  return it != object_.end() && !it->is_null();
}

const nlohmann::json& JsonFields::raw(const std::string& key) const { return object_.at(key); }

void JsonFields::fail(const std::string& key, const std::string& expected) const {
  const auto it = object_.find(key);
  throw Error(where_ + ": \"" + key + "\" must be " + expected +
              (it == object_.end() ? " (it is missing)" : " (got " + shown(*it) + ")"));
}

std::optional<int64_t> JsonFields::integer(const std::string& key, int64_t lo, int64_t hi) const {
  if (!has(key)) return std::nullopt;
  return integer_value(object_.at(key), key, lo, hi);
}

int64_t JsonFields::integer_value(const nlohmann::json& v, const std::string& key, int64_t lo, int64_t hi) const {
  // The message is built only on failure: this runs once per vocabulary entry of a tokenizer.json.
  const bool too_big = v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max());
  if (too_big || !v.is_number_integer() || v.get<int64_t>() < lo || v.get<int64_t>() > hi)
    fail(key, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return v.get<int64_t>();
}

std::optional<double> JsonFields::number(const std::string& key, double lo, double hi, bool above_lo) const {
  if (!has(key)) return std::nullopt;
  const nlohmann::json& v = object_.at(key);
  char range[128];
  std::snprintf(range, sizeof range, "a finite number in %c%g, %g]", above_lo ? '(' : '[', lo, hi);
  if (!v.is_number()) fail(key, range);
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < lo || x > hi || (above_lo && x == lo)) fail(key, range);
  return x;
}

std::optional<bool> JsonFields::boolean(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  if (!object_.at(key).is_boolean()) fail(key, "true or false");
  return object_.at(key).get<bool>();
}

std::optional<std::string> JsonFields::string(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  if (!object_.at(key).is_string()) fail(key, "a string");
  return object_.at(key).get<std::string>();
}

std::optional<std::vector<int64_t>> JsonFields::integers(const std::string& key, int64_t lo, int64_t hi) const {
  if (!has(key)) return std::nullopt;
  const nlohmann::json& v = object_.at(key);
  const std::string expected = "an integer or a list of integers in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  std::vector<int64_t> out;
  for (const nlohmann::json& x : v.is_array() ? v : nlohmann::json::array({v})) {
    if (!x.is_number_integer() || (x.is_number_unsigned() && x.get<uint64_t>() > uint64_t(hi))) fail(key, expected);
    const int64_t i = x.get<int64_t>();
    if (i < lo || i > hi) fail(key, expected);
    out.push_back(i);
  }
  return out;
}

std::optional<JsonFields> JsonFields::object(const std::string& key) const {
  if (!has(key)) return std::nullopt;
  if (!object_.at(key).is_object()) fail(key, "an object");
  return JsonFields(object_.at(key), where_ + " " + key);
}

int64_t JsonFields::required_integer(const std::string& key, int64_t lo, int64_t hi) const {
  const auto v = integer(key, lo, hi);
  if (!v) fail(key, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return *v;
}

std::string JsonFields::required_string(const std::string& key) const {
  const auto v = string(key);
  if (!v) fail(key, "a string");
  return *v;
}

}  // namespace hifp8::io
