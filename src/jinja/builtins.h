#pragma once
// What Jinja expressions call into: operators with Python semantics, the filters, tests and global
// functions transformers' chat-template environment offers, and the Python methods of str, dict and
// list that templates call (`message.content.strip()`, `tool.items()`).
#include <string>

#include "jinja/value.h"

namespace hifp8::jinja {

Value binary_operator(const std::string& op, const Value& a, const Value& b);  // + - * / // % **
bool contains(const Value& container, const Value& item);                      // `item in container`
Value get_attribute(const Value& object, const std::string& name);             // object.name
Value get_item(const Value& object, const Value& key);                         // object[key]
Value slice(const Value& object, const Value& start, const Value& stop, const Value& step);

Value apply_filter(const std::string& name, const Value& subject, const CallArgs& args);
bool apply_test(const std::string& name, const Value& subject, const CallArgs& args);
// range, namespace, dict, raise_exception, strftime_now; undefined for other names.
Value global_function(const std::string& name);

// While one lives (for a render, on this thread), every namespace() made is recorded, and emptied
// when it ends: namespaces can refer to each other, and a cycle of shared_ptrs would never be freed.
class NamespaceCollector {
 public:
  NamespaceCollector();
  ~NamespaceCollector();
  NamespaceCollector(const NamespaceCollector&) = delete;
  NamespaceCollector& operator=(const NamespaceCollector&) = delete;

 private:
  std::vector<std::shared_ptr<Namespace>> made_;
  std::vector<std::shared_ptr<Namespace>>* outer_;
};

// Raises the error Jinja raises when an undefined value is used (its hint), else does nothing.
void require_defined(const Value& v);

}  // namespace hifp8::jinja
