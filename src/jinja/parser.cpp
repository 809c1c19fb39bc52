// Recursive-descent parser with Jinja2's operator precedence, lowest first: `x if c else y`, or, and,
// not, comparisons and `in`, + -, ~, * / // %, **, unary - +, then filters `|` and tests `is`, then
// attribute, subscript and call.
#include <algorithm>
#include <cstdlib>
#include <initializer_list>

#include "hifp8/error.h"
#include "jinja/syntax.h"

namespace hifp8::jinja {
namespace {

using K = Token::Kind;

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  TemplateBody run() {
    TemplateBody out;
    std::string stop = parse_body(out.body, {});
    if (!stop.empty()) fail("unexpected '" + stop + "'");
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error("chat template line " + std::to_string(peek().line) + ": " + what);
  }
  const Token& peek(size_t ahead = 0) const { return t_[std::min(i_ + ahead, t_.size() - 1)]; }
  const Token& next() {
    const Token& t = peek();
    if (i_ < t_.size() - 1) ++i_;
    return t;
  }
  bool is_op(const char* op, size_t ahead = 0) const { return peek(ahead).kind == K::op && peek(ahead).text == op; }
  bool is_name(const char* name, size_t ahead = 0) const { return peek(ahead).kind == K::name && peek(ahead).text == name; }
  bool skip_op(const char* op) { return is_op(op) && (next(), true); }
  bool skip_name(const char* name) { return is_name(name) && (next(), true); }
  void expect_op(const char* op) {
    if (!skip_op(op)) fail(std::string("expected '") + op + "', found '" + describe(peek()) + "'");
  }
  std::string expect_name() {
    if (peek().kind != K::name) fail("expected a name, found '" + describe(peek()) + "'");
    return next().text;
  }
  void expect_block_end() {
    if (peek().kind != K::block_end) fail("expected '%}', found '" + describe(peek()) + "'");
    next();
  }
  static std::string describe(const Token& t) {
    switch (t.kind) {
      case K::end: return "end of template";
      case K::block_end: return "%}";
      case K::variable_end: return "}}";
      case K::text: return "text";
      default: return t.text;
    }
  }

  ExprPtr node(Expr::Kind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind, e->line = line;
    return e;
  }

  // ---- statements ----

  // Parses until `{% name %}` with a name in `stops` (returned, the tag's name consumed) or the end ("").
  std::string parse_body(Body& body, std::initializer_list<const char*> stops) {
    for (;;) {
      const Token& t = peek();
      if (t.kind == K::end) {
        if (stops.size() > 0) fail(std::string("missing '{% ") + *stops.begin() + " %}'");
        return "";
      }
      if (t.kind == K::text) {
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::text, n->line = t.line, n->text = t.text;
        body.push_back(std::move(n));
        next();
      } else if (t.kind == K::variable_begin) {
        next();
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::output, n->line = t.line, n->expr = parse_tuple_expression();
        if (peek().kind != K::variable_end) fail("expected '}}', found '" + describe(peek()) + "'");
        next();
        body.push_back(std::move(n));
      } else if (t.kind == K::block_begin) {
        next();
        const std::string keyword = expect_name();
        if (std::any_of(stops.begin(), stops.end(), [&](const char* s) { return keyword == s; })) return keyword;
        if (auto n = parse_statement(keyword, t.line)) body.push_back(std::move(n));
      } else {
        fail("unexpected '" + describe(t) + "'");
      }
    }
  }

  std::unique_ptr<Node> parse_statement(const std::string& keyword, int line) {
    auto n = std::make_unique<Node>();
    n->line = line;
    if (keyword == "if") {
      n->kind = Node::Kind::if_chain;
      std::string stop = "elif";
      while (stop == "elif") {
        ExprPtr cond = parse_expression();
        expect_block_end();
        Body b;
        stop = parse_body(b, {"endif", "elif", "else"});
        n->branches.emplace_back(std::move(cond), std::move(b));
      }
      if (stop == "else") {
        expect_block_end();
        parse_body(n->else_body, {"endif"});
      }
    } else if (keyword == "for") {
      n->kind = Node::Kind::for_loop;
      do n->targets.push_back(expect_name());
      while (skip_op(","));
      if (!skip_name("in")) fail("expected 'in' in the for statement");
      n->expr = parse_tuple_expression(/*with_condition=*/false);
      if (skip_name("if")) n->condition = parse_expression();
      if (is_name("recursive")) fail("recursive for loops are not supported");
      expect_block_end();
      if (parse_body(n->body, {"endfor", "else"}) == "else") {
        expect_block_end();
        parse_body(n->else_body, {"endfor"});
      }
    } else if (keyword == "set") {
      n->kind = Node::Kind::set;
      n->targets.push_back(expect_name());
      if (skip_op(".")) {
        n->attribute_target = true;
        n->targets.push_back(expect_name());
      } else {
        while (skip_op(",")) n->targets.push_back(expect_name());
      }
      if (peek().kind == K::block_end && n->targets.size() == 1) {  // {% set x %}...{% endset %}
        n->kind = Node::Kind::set_block;
        n->text = n->targets[0];
        next();
        parse_body(n->body, {"endset"});
      } else {
        expect_op("=");
        n->expr = parse_tuple_expression();
      }
    } else if (keyword == "macro") {
      n->kind = Node::Kind::macro;
      n->text = expect_name();
      expect_op("(");
      while (!skip_op(")")) {
        if (!n->parameters.empty()) expect_op(",");
        if (skip_op(")")) break;
        std::string param = expect_name();
        n->parameters.emplace_back(std::move(param), skip_op("=") ? parse_expression() : nullptr);
      }
      expect_block_end();
      parse_body(n->body, {"endmacro"});
    } else if (keyword == "break" || keyword == "continue") {
      n->kind = keyword == "break" ? Node::Kind::loop_break : Node::Kind::loop_continue;
    } else if (keyword == "generation") {
      // transformers' {% generation %} marks assistant text for masks; it renders its body.
      expect_block_end();
      Body b;
      parse_body(b, {"endgeneration"});
      expect_block_end();
      n->kind = Node::Kind::if_chain;
      n->branches.emplace_back(literal(Value(true), line), std::move(b));
      return n;
    } else {
      fail("'{% " + keyword + " %}' is not supported in chat templates");
    }
    expect_block_end();
    return n;
  }

  ExprPtr literal(Value v, int line) {
    auto e = node(Expr::Kind::literal, line);
    e->value = std::move(v);
    return e;
  }

  // ---- expressions ----

  // An expression, or several separated by commas as a tuple (`{% set a = 1, 2 %}`).
  ExprPtr parse_tuple_expression(bool with_condition = true) {
    const int line = peek().line;
    ExprPtr first = with_condition ? parse_expression() : parse_or();
    if (!is_op(",")) return first;
    auto t = node(Expr::Kind::tuple, line);
    t->args.push_back(std::move(first));
    while (skip_op(",")) {
      if (peek().kind == K::block_end || peek().kind == K::variable_end || is_name("if")) break;
      t->args.push_back(with_condition ? parse_expression() : parse_or());
    }
    return t;
  }

  ExprPtr parse_expression() {
    ExprPtr value = parse_or();
    while (is_name("if")) {
      const int line = next().line;
      auto c = node(Expr::Kind::conditional, line);
      c->args.push_back(std::move(value));
      c->args.push_back(parse_or());
      c->args.push_back(skip_name("else") ? parse_expression() : nullptr);
      value = std::move(c);
    }
    return value;
  }

  ExprPtr binary_chain(Expr::Kind kind, const char* keyword, ExprPtr (Parser::*operand)()) {
    ExprPtr left = (this->*operand)();
    while (is_name(keyword)) {
      auto e = node(kind, next().line);
      e->args.push_back(std::move(left));
      e->args.push_back((this->*operand)());
      left = std::move(e);
    }
    return left;
  }
  ExprPtr parse_or() { return binary_chain(Expr::Kind::logical_or, "or", &Parser::parse_and); }
  ExprPtr parse_and() { return binary_chain(Expr::Kind::logical_and, "and", &Parser::parse_not); }

  ExprPtr parse_not() {
    if (is_name("not")) {
      auto e = node(Expr::Kind::logical_not, next().line);
      e->args.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    ExprPtr left = parse_math1();
    ExprPtr chain;
    for (;;) {
      std::string op;
      if (peek().kind == K::op && (peek().text == "==" || peek().text == "!=" || peek().text == "<" ||
                                   peek().text == "<=" || peek().text == ">" || peek().text == ">="))
        op = next().text;
      else if (skip_name("in")) op = "in";
      else if (is_name("not") && is_name("in", 1)) next(), next(), op = "not in";
      else break;
      if (!chain) {
        chain = node(Expr::Kind::compare, peek().line);
        chain->args.push_back(std::move(left));
      }
      chain->operators.push_back(op);
      chain->args.push_back(parse_math1());
    }
    return chain ? std::move(chain) : std::move(left);
  }

  ExprPtr binary_ops(std::initializer_list<const char*> ops, ExprPtr (Parser::*operand)()) {
    ExprPtr left = (this->*operand)();
    for (;;) {
      const char* found = nullptr;
      for (const char* op : ops)
        if (is_op(op)) found = op;
      if (!found) return left;
      auto e = node(Expr::Kind::binary, next().line);
      e->name = found;
      e->args.push_back(std::move(left));
      e->args.push_back((this->*operand)());
      left = std::move(e);
    }
  }
  ExprPtr parse_math1() { return binary_ops({"+", "-"}, &Parser::parse_concat); }
  ExprPtr parse_concat() {
    ExprPtr first = parse_math2();
    if (!is_op("~")) return first;
    auto e = node(Expr::Kind::concat, peek().line);
    e->args.push_back(std::move(first));
    while (skip_op("~")) e->args.push_back(parse_math2());
    return e;
  }
  ExprPtr parse_math2() { return binary_ops({"*", "/", "//", "%"}, &Parser::parse_pow); }
  ExprPtr parse_pow() { return binary_ops({"**"}, &Parser::parse_unary_filtered); }
  ExprPtr parse_unary_filtered() { return parse_unary(true); }

  ExprPtr parse_unary(bool with_filter) {
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      e = node(is_op("-") ? Expr::Kind::negate : Expr::Kind::plus, peek().line);
      next();
      e->args.push_back(parse_unary(false));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    return with_filter ? parse_filters_and_tests(std::move(e)) : std::move(e);
  }

  ExprPtr parse_primary() {
    const Token& t = peek();
    switch (t.kind) {
      case K::name: {
        next();
        if (t.text == "true" || t.text == "True") return literal(Value(true), t.line);
        if (t.text == "false" || t.text == "False") return literal(Value(false), t.line);
        if (t.text == "none" || t.text == "None") return literal(Value(nullptr), t.line);
        auto e = node(Expr::Kind::name, t.line);
        e->name = t.text;
        return e;
      }
      case K::string: {
        std::string s;
        while (peek().kind == K::string) s += next().text;  // adjacent literals concatenate
        return literal(Value(std::move(s)), t.line);
      }
      case K::integer: {
        next();
        try {
          return literal(Value(static_cast<int64_t>(std::stoll(t.text))), t.line);
        } catch (const std::exception&) {
          fail("integer literal " + t.text + " is out of range");
        }
      }
      case K::floating:  // strtod: 1e999 is inf, as Python's float literal (std::stod throws)
        next();
        return literal(Value(std::strtod(t.text.c_str(), nullptr)), t.line);
      case K::op:
        if (t.text == "(") {
          next();
          if (skip_op(")")) return literal(Value(std::vector<Value>{}, true), t.line);
          ExprPtr inner = parse_expression();
          if (is_op(",")) {
            auto tuple = node(Expr::Kind::tuple, t.line);
            tuple->args.push_back(std::move(inner));
            while (skip_op(",") && !is_op(")")) tuple->args.push_back(parse_expression());
            inner = std::move(tuple);
          }
          expect_op(")");
          return inner;
        }
        if (t.text == "[") {
          next();
          auto list = node(Expr::Kind::list, t.line);
          while (!skip_op("]")) {
            if (!list->args.empty()) expect_op(",");
            if (skip_op("]")) break;
            list->args.push_back(parse_expression());
          }
          return list;
        }
        if (t.text == "{") {
          next();
          auto dict = node(Expr::Kind::dict, t.line);
          while (!skip_op("}")) {
            if (!dict->args.empty()) expect_op(",");
            if (skip_op("}")) break;
            dict->args.push_back(parse_expression());
            expect_op(":");
            dict->args.push_back(parse_expression());
          }
          return dict;
        }
        break;
      default: break;
    }
    fail("unexpected '" + describe(t) + "'");
  }

  ExprPtr parse_postfix(ExprPtr e) {
    for (;;) {
      const int line = peek().line;
      if (skip_op(".")) {
        auto a = node(Expr::Kind::attribute, line);
        if (peek().kind == K::integer) {  // x.0 is x[0]
          if (peek().text.size() > 18) fail("index " + peek().text + " is out of range");
          a->kind = Expr::Kind::item;
          a->args.push_back(std::move(e));
          a->args.push_back(literal(Value(static_cast<int64_t>(std::stoll(next().text))), line));
        } else {
          a->name = expect_name();
          a->args.push_back(std::move(e));
        }
        e = std::move(a);
      } else if (skip_op("[")) {
        e = parse_subscript(std::move(e), line);
      } else if (is_op("(")) {
        e = parse_call(std::move(e), Expr::Kind::call);
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr object, int line) {
    ExprPtr parts[3];
    int part = 0;
    bool slice = false;
    for (;;) {
      if (is_op("]")) break;
      if (skip_op(":")) {
        slice = true;
        if (++part > 2) fail("a slice has at most three parts");
        continue;
      }
      if (parts[part]) fail("expected ':' or ']' in a subscript");
      parts[part] = parse_expression();
    }
    expect_op("]");
    auto e = node(slice ? Expr::Kind::slice : Expr::Kind::item, line);
    e->args.push_back(std::move(object));
    if (!slice) {
      if (!parts[0]) fail("empty subscript");
      e->args.push_back(std::move(parts[0]));
    } else {
      for (auto& p : parts) e->args.push_back(std::move(p));
    }
    return e;
  }

  // `callee(args)`; for filters and tests the subject is already in args[0].
  ExprPtr parse_call(ExprPtr callee, Expr::Kind kind) {
    auto e = node(kind, peek().line);
    e->args.push_back(std::move(callee));
    parse_arguments(*e);
    return e;
  }

  void parse_arguments(Expr& e) {
    expect_op("(");
    bool first = true;
    while (!skip_op(")")) {
      if (!first) expect_op(",");
      first = false;
      if (skip_op(")")) break;
      if (peek().kind == K::name && is_op("=", 1)) {
        std::string key = next().text;
        next();
        e.keywords.emplace_back(std::move(key), parse_expression());
      } else {
        if (!e.keywords.empty()) fail("a positional argument after a keyword argument");
        e.args.push_back(parse_expression());
      }
    }
  }

  ExprPtr parse_filters_and_tests(ExprPtr e) {
    for (;;) {
      const int line = peek().line;
      if (skip_op("|")) {
        auto f = node(Expr::Kind::filter, line);
        f->name = expect_name();
        f->args.push_back(std::move(e));
        if (is_op("(")) parse_arguments(*f);
        e = std::move(f);
      } else if (skip_name("is")) {
        auto t = node(Expr::Kind::test, line);
        t->negated = skip_name("not");
        t->name = expect_name();
        t->args.push_back(std::move(e));
        if (is_op("(")) {
          parse_arguments(*t);
        } else if ((peek().kind == K::name || peek().kind == K::string || peek().kind == K::integer ||
                    peek().kind == K::floating || is_op("[") || is_op("{")) &&
                   !is_name("else") && !is_name("or") && !is_name("and") && !is_name("if") && !is_name("in") &&
                   !is_name("is") && !is_name("not")) {
          t->args.push_back(parse_postfix(parse_primary()));  // `is divisibleby 3`, `is sameas false`
        }
        e = std::move(t);
      } else if (is_op("(")) {
        e = parse_call(std::move(e), Expr::Kind::call);
      } else {
        return e;
      }
    }
  }

  std::vector<Token> t_;
  size_t i_ = 0;
};

}  // namespace

TemplateBody parse(std::vector<Token> tokens) { return Parser(std::move(tokens)).run(); }

}  // namespace hifp8::jinja
