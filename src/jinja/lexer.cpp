#include <algorithm>
#include <cctype>

#include "hifp8/error.h"
#include "jinja/syntax.h"

namespace hifp8::jinja {
namespace {

[[noreturn]] void fail(int line, const std::string& what) { throw Error("chat template line " + std::to_string(line) + ": " + what); }

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string normalize_newlines(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out += '\n';
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Python string-literal escapes, as Jinja unescapes them.
std::string unescape(std::string_view body, int line) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 == body.size()) {
      out += body[i];
      continue;
    }
    const char c = body[++i];
    auto hex = [&](size_t digits) {
      if (i + digits >= body.size()) fail(line, "truncated escape in a string literal");
      const std::string h(body.substr(i + 1, digits));
      if (!std::all_of(h.begin(), h.end(), [](char x) { return std::isxdigit(static_cast<unsigned char>(x)); }))
        fail(line, "bad \\x/\\u escape in a string literal");
      i += digits;
      const char32_t cp = static_cast<char32_t>(std::stoul(h, nullptr, 16));
      out += from_code_points(std::u32string_view(&cp, 1));
    };
    switch (c) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'v': out += '\v'; break;
      case 'a': out += '\a'; break;
      case '0': out += '\0'; break;
      case '\\': case '\'': case '"': out += c; break;
      case '\n': break;  // a line continuation
      case 'x': hex(2); break;
      case 'u': hex(4); break;
      case 'U': hex(8); break;
      default: out += '\\', out += c;  // Python keeps unknown escapes
    }
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string_view source) : src_(normalize_newlines(source)) {
    if (!src_.empty() && src_.back() == '\n') src_.pop_back();  // keep_trailing_newline=False
  }

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      const size_t tag = find_tag(pos_);
      std::string text = src_.substr(pos_, tag - pos_);
      const size_t text_line_start = pos_;
      const int text_line = line_;
      line_ += static_cast<int>(std::count(text.begin(), text.end(), '\n'));
      size_t offset = apply_leading_control(text);
      if (tag == src_.size()) {
        emit_text(std::move(text), text_line);
        break;
      }
      const char kind = src_[tag + 1], marker = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
      if (marker == '-') {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      } else if (kind != '{' && marker != '+') {
        // lstrip_blocks: only spaces and tabs between the line's start and the tag.
        const size_t l = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
        const size_t first = text_line_start + offset;
        const bool at_line_start = l > 0 || first == 0 || src_[first - 1] == '\n';
        if (at_line_start && std::all_of(text.begin() + static_cast<long>(l), text.end(), [](char c) { return c != '\n' && is_space(c); }))
          text.resize(l);
      }
      emit_text(std::move(text), text_line);
      pos_ = tag + 2 + ((marker == '-' || marker == '+') ? 1 : 0);
      if (kind == '#') lex_comment();
      else lex_tag(kind == '{');
    }
    tokens_.push_back({Token::Kind::end, "", line_});
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i)
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    return src_.size();
  }

  // Applies the previous tag's `-` or trim_blocks to the start of the text; returns how many bytes went.
  size_t apply_leading_control(std::string& text) {
    size_t n = 0;
    if (strip_next_) {
      while (n < text.size() && is_space(text[n])) ++n;
    } else if (trim_newline_ && !text.empty() && text[0] == '\n') {
      n = 1;
    }
    strip_next_ = trim_newline_ = false;
    text.erase(0, n);
    return n;
  }

  void emit_text(std::string text, int line) {
    if (!text.empty()) tokens_.push_back({Token::Kind::text, std::move(text), line});
  }

  void lex_comment() {
    const size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) fail(line_, "unclosed comment {# ... #}");
    line_ += static_cast<int>(std::count(src_.begin() + static_cast<long>(pos_), src_.begin() + static_cast<long>(end), '\n'));
    strip_next_ = end > pos_ && src_[end - 1] == '-';
    trim_newline_ = true;
    pos_ = end + 2;
  }

  void lex_tag(bool variable) {
    const size_t first_token = tokens_.size();
    tokens_.push_back({variable ? Token::Kind::variable_begin : Token::Kind::block_begin, "", line_});
    const char closer = variable ? '}' : '%';
    int depth = 0;
    for (;;) {
      while (pos_ < src_.size() && is_space(src_[pos_])) line_ += src_[pos_++] == '\n';
      if (pos_ >= src_.size()) fail(line_, std::string("unclosed tag, expected '") + closer + "}'");
      const char c = src_[pos_];
      if (depth == 0 && c == '-' && src_.compare(pos_ + 1, 2, std::string{closer, '}'}) == 0) {
        strip_next_ = true, pos_ += 3;
        break;
      }
      if (depth == 0 && c == closer && pos_ + 1 < src_.size() && src_[pos_ + 1] == '}') {
        pos_ += 2;
        break;
      }
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') lex_name();
      else if (std::isdigit(static_cast<unsigned char>(c))) lex_number();
      else if (c == '\'' || c == '"') lex_string(c);
      else depth += lex_operator();
    }
    tokens_.push_back({variable ? Token::Kind::variable_end : Token::Kind::block_end, "", line_});
    if (!variable) trim_newline_ = !strip_next_;
    if (!variable && tokens_.size() == first_token + 3 && tokens_[first_token + 1].kind == Token::Kind::name &&
        tokens_[first_token + 1].text == "raw") {
      tokens_.resize(first_token);
      lex_raw();
    }
  }

  // {% raw %} ... {% endraw %}: the text between, verbatim.
  void lex_raw() {
    for (size_t at = src_.find("{%", pos_); at != std::string::npos; at = src_.find("{%", at + 2)) {
      size_t p = at + 2;
      const bool strip_before = p < src_.size() && src_[p] == '-';
      if (strip_before || (p < src_.size() && src_[p] == '+')) ++p;
      while (p < src_.size() && is_space(src_[p])) ++p;
      if (src_.compare(p, 6, "endraw") != 0) continue;
      p += 6;
      while (p < src_.size() && is_space(src_[p])) ++p;
      const bool strip_after = p < src_.size() && src_[p] == '-';
      if (strip_after) ++p;
      if (src_.compare(p, 2, "%}") != 0) continue;
      std::string text = src_.substr(pos_, at - pos_);
      apply_leading_control(text);
      if (strip_before)
        while (!text.empty() && is_space(text.back())) text.pop_back();
      const int line = line_;
      line_ += static_cast<int>(std::count(src_.begin() + static_cast<long>(pos_), src_.begin() + static_cast<long>(p), '\n'));
      emit_text(std::move(text), line);
      pos_ = p + 2;
      strip_next_ = strip_after;
      trim_newline_ = !strip_after;
      return;
    }
    fail(line_, "{% raw %} without {% endraw %}");
  }

  void lex_name() {
    const size_t start = pos_;
    while (pos_ < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_')) ++pos_;
    tokens_.push_back({Token::Kind::name, src_.substr(start, pos_ - start), line_});
  }

  void lex_number() {
    const size_t start = pos_;
    auto digits = [&] {
      while (pos_ < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[pos_])) || src_[pos_] == '_')) ++pos_;
    };
    digits();
    bool is_float = false;
    // After `.`, `x.0` is an attribute: a number never starts right after a dot.
    const bool after_dot = !tokens_.empty() && tokens_.back().kind == Token::Kind::op && tokens_.back().text == ".";
    if (!after_dot && pos_ + 1 < src_.size() && src_[pos_] == '.' && std::isdigit(static_cast<unsigned char>(src_[pos_ + 1]))) {
      is_float = true, ++pos_;
      digits();
    }
    if (!after_dot && pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (p < src_.size() && std::isdigit(static_cast<unsigned char>(src_[p]))) {
        is_float = true, pos_ = p;
        digits();
      }
    }
    std::string text = src_.substr(start, pos_ - start);
    std::erase(text, '_');
    tokens_.push_back({is_float ? Token::Kind::floating : Token::Kind::integer, std::move(text), line_});
  }

  void lex_string(char quote) {
    const int line = line_;
    size_t p = pos_ + 1;
    while (p < src_.size() && src_[p] != quote) {
      if (src_[p] == '\\') ++p;
      if (p < src_.size() && src_[p] == '\n') ++line_;
      ++p;
    }
    if (p >= src_.size()) fail(line, "unterminated string literal");
    tokens_.push_back({Token::Kind::string, unescape(std::string_view(src_).substr(pos_ + 1, p - pos_ - 1), line), line});
    pos_ = p + 1;
  }

  // Returns the change in bracket depth.
  int lex_operator() {
    static const char* two[] = {"//", "**", "==", "!=", "<=", ">="};
    for (const char* op : two)
      if (src_.compare(pos_, 2, op) == 0) {
        tokens_.push_back({Token::Kind::op, op, line_});
        pos_ += 2;
        return 0;
      }
    const char c = src_[pos_];
    if (std::string_view("+-*/%~<>=.,:|()[]{}").find(c) == std::string_view::npos)
      fail(line_, std::string("unexpected character '") + c + "'");
    tokens_.push_back({Token::Kind::op, std::string(1, c), line_});
    ++pos_;
    return (c == '(' || c == '[' || c == '{') ? 1 : (c == ')' || c == ']' || c == '}') ? -1 : 0;
  }

  std::string src_;
  size_t pos_ = 0;
  int line_ = 1;
  bool strip_next_ = false;    // the previous tag ended with `-`
  bool trim_newline_ = false;  // the previous tag was a block or comment (trim_blocks)
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> lex(std::string_view source) { return Lexer(source).run(); }

}  // namespace hifp8::jinja
