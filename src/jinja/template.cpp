#include "hifp8/jinja/template.h"

#include <climits>
#include <unordered_map>

#include "hifp8/error.h"
#include "jinja/builtins.h"
#include "jinja/syntax.h"

namespace hifp8::jinja {
namespace {

// A rendered chat prompt beyond this is a runaway template, not a prompt.
constexpr size_t kMaxOutputBytes = size_t{64} << 20;
constexpr int kMaxMacroDepth = 100;
// Loop iterations in one render: a chat prompt loops over messages and tools, far below this.
constexpr int64_t kMaxLoopIterations = 1'000'000;
const std::string kLinePrefix = "chat template line ";

struct Scope {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Scope> parent;

  const Value* find(const std::string& name) const {
    for (const Scope* s = this; s; s = s->parent.get()) {
      auto it = s->vars.find(name);
      if (it != s->vars.end()) return &it->second;
    }
    return nullptr;
  }
};
using ScopePtr = std::shared_ptr<Scope>;

enum class Flow { normal, loop_break, loop_continue };

class Renderer {
 public:
  Flow exec(const Body& body, const ScopePtr& scope, std::string& out) {
    for (const auto& node : body) {
      Flow f;
      try {
        f = exec(*node, scope, out);
      } catch (const Error& e) {
        if (std::string_view(e.what()).starts_with(kLinePrefix)) throw;
        throw Error(kLinePrefix + std::to_string(node->line) + ": " + e.what());
      }
      if (f != Flow::normal) return f;
      if (out.size() > kMaxOutputBytes) throw Error(kLinePrefix + std::to_string(node->line) + ": the rendered text exceeds 64 MiB");
    }
    return Flow::normal;
  }

 private:
  Flow exec(const Node& n, const ScopePtr& scope, std::string& out) {
    switch (n.kind) {
      case Node::Kind::text: out += n.text; break;
      case Node::Kind::output: out += eval(*n.expr, scope).str(); break;
      case Node::Kind::if_chain:
        for (const auto& [cond, body] : n.branches)
          if (eval(*cond, scope).truthy()) return exec(body, scope, out);
        return exec(n.else_body, scope, out);
      case Node::Kind::for_loop: return exec_for(n, scope, out);
      case Node::Kind::set: {
        Value v = eval(*n.expr, scope);
        if (n.attribute_target) {
          const Value* ns = scope->find(n.targets[0]);
          if (!ns || !ns->is_namespace()) throw Error("cannot assign attribute on non-namespace object '" + n.targets[0] + "'");
          ns->as_namespace().attributes.set(n.targets[1], std::move(v));
        } else {
          assign(n.targets, std::move(v), *scope);
        }
        break;
      }
      case Node::Kind::set_block: {
        std::string text;
        exec(n.body, scope, text);
        scope->vars[n.text] = Value(std::move(text));
        break;
      }
      case Node::Kind::macro: scope->vars[n.text] = make_macro(n, scope); break;
      case Node::Kind::loop_break: return Flow::loop_break;
      case Node::Kind::loop_continue: return Flow::loop_continue;
    }
    return Flow::normal;
  }

  static void assign(const std::vector<std::string>& targets, Value v, Scope& scope) {
    if (targets.size() == 1) {
      scope.vars[targets[0]] = std::move(v);
      return;
    }
    const std::vector<Value> parts = v.iterate();
    if (parts.size() != targets.size())
      throw Error("cannot unpack " + std::to_string(parts.size()) + " values into " + std::to_string(targets.size()) + " names");
    for (size_t i = 0; i < targets.size(); ++i) scope.vars[targets[i]] = parts[i];
  }

  Flow exec_for(const Node& n, const ScopePtr& scope, std::string& out) {
    std::vector<Value> items = eval(*n.expr, scope).iterate();
    if (n.condition) {  // `for x in xs if cond` filters before loop.index counts
      std::vector<Value> kept;
      for (Value& item : items) {
        Scope probe{{}, scope};
        assign(n.targets, item, probe);
        if (eval(*n.condition, std::make_shared<Scope>(std::move(probe))).truthy()) kept.push_back(std::move(item));
      }
      items = std::move(kept);
    }
    if (items.empty()) return exec(n.else_body, scope, out);
    const auto length = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < length; ++i) {
      if (++iterations_ > kMaxLoopIterations) throw Error("more than 1000000 loop iterations: a runaway template");
      auto iteration = std::make_shared<Scope>();
      iteration->parent = scope;
      assign(n.targets, items[static_cast<size_t>(i)], *iteration);
      iteration->vars["loop"] = loop_object(items, i);
      if (exec(n.body, iteration, out) == Flow::loop_break) break;
    }
    return Flow::normal;
  }

  static Value loop_object(const std::vector<Value>& items, int64_t i) {
    const auto length = static_cast<int64_t>(items.size());
    ValueDict loop;
    loop.set("index", i + 1);
    loop.set("index0", i);
    loop.set("revindex", length - i);
    loop.set("revindex0", length - i - 1);
    loop.set("first", i == 0);
    loop.set("last", i == length - 1);
    loop.set("length", length);
    loop.set("depth", 1);
    loop.set("depth0", 0);
    loop.set("previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value(Undefined{"there is no previous item"}));
    loop.set("nextitem", i + 1 < length ? items[static_cast<size_t>(i + 1)] : Value(Undefined{"there is no next item"}));
    loop.set("cycle", Value(Function([i](const CallArgs& a) -> Value {
      if (a.positional.empty()) throw Error("loop.cycle() needs at least one argument");
      return a.positional[static_cast<size_t>(i) % a.positional.size()];
    })));
    return Value(std::move(loop));
  }

  // The macro sees its defining scope weakly: that scope holds the macro, and a strong reference
  // back would keep both alive forever (LeakSanitizer found it in the jinja_template fuzz target).
  Value make_macro(const Node& n, const ScopePtr& defining_scope) {
    const std::weak_ptr<Scope> weak_scope = defining_scope;
    return Value(Function([this, &n, weak_scope](const CallArgs& a) -> Value {
      const ScopePtr defining = weak_scope.lock();
      if (!defining) throw Error("macro '" + n.text + "' called after the scope that defined it ended");
      if (a.positional.size() > n.parameters.size()) throw Error("macro '" + n.text + "' takes " + std::to_string(n.parameters.size()) + " arguments");
      if (depth_ >= kMaxMacroDepth) throw Error("macro recursion deeper than " + std::to_string(kMaxMacroDepth));
      auto local = std::make_shared<Scope>();
      local->parent = defining;
      for (size_t i = 0; i < n.parameters.size(); ++i) {
        const auto& [name, default_value] = n.parameters[i];
        if (const Value* v = a.get(i, name)) local->vars[name] = *v;
        else local->vars[name] = default_value ? eval(*default_value, local) : Value(Undefined{"'" + name + "' is undefined"});
      }
      for (const auto& keyword : a.keyword)
        if (std::none_of(n.parameters.begin(), n.parameters.end(), [&](const auto& p) { return p.first == keyword.first; }))
          throw Error("macro '" + n.text + "' takes no keyword argument '" + keyword.first + "'");
      std::string text;
      ++depth_;
      try {
        exec(n.body, local, text);
      } catch (...) {
        --depth_;
        throw;
      }
      --depth_;
      return text;
    }));
  }

  CallArgs arguments(const Expr& e, const ScopePtr& scope) {
    CallArgs a;
    for (size_t i = 1; i < e.args.size(); ++i) a.positional.push_back(eval(*e.args[i], scope));
    for (const auto& [k, v] : e.keywords) a.keyword.emplace_back(k, eval(*v, scope));
    return a;
  }

  Value eval(const Expr& e, const ScopePtr& scope) {
    using K = Expr::Kind;
    switch (e.kind) {
      case K::literal: return e.value;
      case K::name: {
        if (const Value* v = scope->find(e.name)) return *v;
        Value g = global_function(e.name);
        return g.is_undefined() ? Value(Undefined{"'" + e.name + "' is undefined"}) : g;
      }
      case K::list:
      case K::tuple: {
        std::vector<Value> items;
        for (const auto& x : e.args) items.push_back(eval(*x, scope));
        return Value(std::move(items), e.kind == K::tuple);
      }
      case K::dict: {
        ValueDict d;
        for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
          Value key = eval(*e.args[i], scope);
          if (!key.is_string()) throw Error("dict keys must be strings in chat templates, got " + key.type_name());
          d.set(key.as_string(), eval(*e.args[i + 1], scope));
        }
        return Value(std::move(d));
      }
      case K::attribute: return get_attribute(eval(*e.args[0], scope), e.name);
      case K::item: return get_item(eval(*e.args[0], scope), eval(*e.args[1], scope));
      case K::slice: {
        auto part = [&](size_t i) { return e.args[i] ? eval(*e.args[i], scope) : Value(nullptr); };
        return slice(eval(*e.args[0], scope), part(1), part(2), part(3));
      }
      case K::call: {
        Value callee = eval(*e.args[0], scope);
        require_defined(callee);
        if (!callee.is_function()) throw Error("'" + callee.type_name() + "' object is not callable");
        return callee.as_function()(arguments(e, scope));
      }
      case K::filter: return apply_filter(e.name, eval(*e.args[0], scope), arguments(e, scope));
      case K::test: return apply_test(e.name, eval(*e.args[0], scope), arguments(e, scope)) != e.negated;
      case K::negate:
      case K::plus: {
        Value v = eval(*e.args[0], scope);
        require_defined(v);
        if (!v.is_number()) throw Error("bad operand type for unary " + std::string(e.kind == K::negate ? "-" : "+") + ": '" + v.type_name() + "'");
        if (e.kind == K::plus) return v.is_float() ? v : Value(v.as_int());
        if (v.is_float()) return -v.as_double();
        if (v.as_int() == INT64_MIN) throw Error("integer overflow in unary -");
        return -v.as_int();
      }
      case K::logical_not: return !eval(*e.args[0], scope).truthy();
      case K::logical_and: {
        Value a = eval(*e.args[0], scope);
        return a.truthy() ? eval(*e.args[1], scope) : a;
      }
      case K::logical_or: {
        Value a = eval(*e.args[0], scope);
        return a.truthy() ? a : eval(*e.args[1], scope);
      }
      case K::binary: return binary_operator(e.name, eval(*e.args[0], scope), eval(*e.args[1], scope));
      case K::compare: {
        Value left = eval(*e.args[0], scope);
        for (size_t i = 0; i < e.operators.size(); ++i) {
          Value right = eval(*e.args[i + 1], scope);
          const std::string& op = e.operators[i];
          bool ok;
          if (op == "==") ok = left == right;
          else if (op == "!=") ok = !(left == right);
          else if (op == "in") ok = contains(right, left);
          else if (op == "not in") ok = !contains(right, left);
          else {
            require_defined(left);
            require_defined(right);
            const int c = compare(left, right);
            ok = op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
          }
          if (!ok) return false;
          left = std::move(right);
        }
        return true;
      }
      case K::conditional:
        if (eval(*e.args[1], scope).truthy()) return eval(*e.args[0], scope);
        return e.args[2] ? eval(*e.args[2], scope) : Value(Undefined{"the conditional expression has no else"});
      case K::concat: {
        std::string s;
        for (const auto& x : e.args) s += eval(*x, scope).str();
        return s;
      }
    }
    return Value();
  }

  int depth_ = 0;
  int64_t iterations_ = 0;
};

}  // namespace

Template::Template(std::string_view source) : body_(std::make_unique<TemplateBody>(parse(lex(source)))) {}
Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

std::string Template::render(const nlohmann::ordered_json& context) const {
  if (!context.is_object()) throw Error("chat template context must be a JSON object");
  auto root = std::make_shared<Scope>();
  for (const auto& [k, v] : context.items()) root->vars[k] = Value::from_json(v);
  // namespace() objects are the one mutable value, so the only way to a reference cycle
  // ({% set ns.me = ns %}): they are emptied when the render ends, breaking any.
  const NamespaceCollector namespaces;
  std::string out;
  Renderer().exec(body_->body, root, out);
  return out;
}

}  // namespace hifp8::jinja
