#pragma once
// Typed, named access to the fields of a JSON object from a file (config.json, quantization_config,
// tokenizer_config.json): a field of the wrong type or out of range is an Error that names the file,
// the field, what was expected and what was found (exit 2 at the CLI), never a raw library exception
// or a silently used default.
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace hifp8::io {

class JsonFields {
 public:
  // `where`: how errors name the object, e.g. "config.json" or "config.json quantization_config".
  JsonFields(const nlohmann::json& object, std::string where);

  bool has(const std::string& key) const;  // present and not null
  const nlohmann::json& raw(const std::string& key) const;
  const nlohmann::json& raw_object() const { return object_; }

  // Absent or null: nullopt. Present: the value, or Error if of another type or outside [lo, hi].
  std::optional<int64_t> integer(const std::string& key, int64_t lo = std::numeric_limits<int64_t>::min(),
                                 int64_t hi = std::numeric_limits<int64_t>::max()) const;
  // `value`, the value of field `key` already in hand (iterating the object), checked as integer() does.
  int64_t integer_value(const nlohmann::json& value, const std::string& key, int64_t lo, int64_t hi) const;
  // A finite number in [lo, hi]; `above_lo`: strictly greater than lo.
  std::optional<double> number(const std::string& key, double lo = -std::numeric_limits<double>::max(),
                               double hi = std::numeric_limits<double>::max(), bool above_lo = false) const;
  std::optional<bool> boolean(const std::string& key) const;
  std::optional<std::string> string(const std::string& key) const;
  // An integer, or an array of integers, each in [lo, hi].
  std::optional<std::vector<int64_t>> integers(const std::string& key, int64_t lo, int64_t hi) const;
  // A nested object (nullopt if absent or null).
  std::optional<JsonFields> object(const std::string& key) const;

  // Required versions: Error naming the field if absent.
  int64_t required_integer(const std::string& key, int64_t lo, int64_t hi) const;
  std::string required_string(const std::string& key) const;

  [[noreturn]] void fail(const std::string& key, const std::string& expected) const;

 private:
  const nlohmann::json& object_;
  std::string where_;
};

}  // namespace hifp8::io
