#pragma once
// Tokens and syntax tree of a Jinja template, and the lexer and parser that make them.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jinja/value.h"

namespace hifp8::jinja {

struct Token {
  enum class Kind { text, variable_begin, variable_end, block_begin, block_end, name, string, integer, floating, op, end };
  Kind kind;
  std::string text;  // the text, name, operator or unescaped string literal
  int line;
};

// Splits a template into tokens with transformers' whitespace handling applied to the text between
// tags: trim_blocks (the newline after a block or comment tag is dropped), lstrip_blocks (spaces and
// tabs before a block or comment tag at the start of a line are dropped), `-` markers, {% raw %},
// and no trailing newline (keep_trailing_newline=False).
std::vector<Token> lex(std::string_view source);

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;
using Keywords = std::vector<std::pair<std::string, ExprPtr>>;

struct Expr {
  enum class Kind {
    literal, name, list, tuple, dict, attribute, item, slice, call, filter, test,
    negate, plus, logical_not, binary, compare, logical_and, logical_or, conditional, concat
  };
  Kind kind;
  int line;
  Value value;                 // literal
  std::string name;            // name, attribute, filter, test, binary operator
  std::vector<ExprPtr> args;   // operands; call: callee then arguments; filter/test: subject then arguments;
                               // slice: object, start, stop, step (null when absent); dict: key, value, ...;
                               // conditional: value, condition, else value (null when absent)
  Keywords keywords;           // call/filter/test keyword arguments
  std::vector<std::string> operators;  // compare chain: ==, !=, <, <=, >, >=, in, not in
  bool negated = false;        // test: `is not`
};

struct Node;
using Body = std::vector<std::unique_ptr<Node>>;

struct Node {
  enum class Kind { text, output, if_chain, for_loop, set, set_block, macro, loop_break, loop_continue };
  Kind kind;
  int line;
  std::string text;                   // text; set_block and macro: the name
  ExprPtr expr;                       // output; set value; for iterable
  std::vector<std::pair<ExprPtr, Body>> branches;  // if / elif conditions and bodies
  Body body, else_body;               // for, set_block, macro; else of if and for
  std::vector<std::string> targets;   // for and set names; set of a namespace attribute: {ns, attribute}
  bool attribute_target = false;
  ExprPtr condition;                  // for ... if condition
  Keywords parameters;                // macro parameters with defaults (null when none)
};

struct TemplateBody {
  Body body;
};

TemplateBody parse(std::vector<Token> tokens);

}  // namespace hifp8::jinja
