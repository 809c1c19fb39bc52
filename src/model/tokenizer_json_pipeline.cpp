#include "tokenizer_json_pipeline.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include <array>
#include <cstdlib>
#include <unordered_map>

#include "hifp8/error.h"
#include "hifp8/model/utf8.h"

namespace hifp8::model::tokenizer_json {
namespace {

using nlohmann::json;

std::string encode_utf8(int32_t cp) {
  uint8_t buf[4];
  const auto n = utf8proc_encode_char(cp, buf);
  return std::string(reinterpret_cast<const char*>(buf), size_t(n));
}

// The code points of valid UTF-8 text, with their byte ranges.
template <typename F>
void for_each_code_point(std::string_view text, F&& f) {
  size_t at = 0;
  while (at < text.size()) {
    utf8proc_int32_t cp = 0;
    const auto n = utf8proc_iterate(reinterpret_cast<const uint8_t*>(text.data() + at), utf8proc_ssize_t(text.size() - at), &cp);
    if (n <= 0) throw Error("tokenizer: text is not valid UTF-8");
    f(cp, at, size_t(n));
    at += size_t(n);
  }
}

std::string unicode_normalize(const std::string& text, utf8proc_option_t options) {
  utf8proc_uint8_t* out = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()), utf8proc_ssize_t(text.size()), &out,
                              utf8proc_option_t(options | UTF8PROC_STABLE));
  if (n < 0) throw Error(std::string("tokenizer: Unicode normalization failed: ") + utf8proc_errmsg(n));
  std::string result(reinterpret_cast<const char*>(out), size_t(n));
  std::free(out);
  return result;
}

}  // namespace

// Rust's char::is_whitespace (the White_Space property).
bool is_whitespace(int32_t cp) {
  if ((cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
      cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000)
    return true;
  return false;
}

namespace {

std::string type_of(const json& j) { return j.is_object() ? j.value("type", std::string("?")) : std::string("?"); }

[[noreturn]] void unsupported(const char* what, const json& j) {
  throw Error(std::string("tokenizer.json: ") + what + " '" + type_of(j) + "' is not supported");
}

// ---- normalizers ----------------------------------------------------------------------------------

bool is_cjk(int32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// BERT's: control characters dropped and whitespace made spaces (clean_text), spaces around CJK
// ideographs, accents stripped (NFD, then nonspacing marks dropped; by default when lowercasing), lowercase.
Normalizer bert_normalizer(const json& n) {
  const bool clean = n.value("clean_text", true), chinese = n.value("handle_chinese_chars", true);
  const bool lowercase = n.value("lowercase", true);
  const bool strip = n.contains("strip_accents") && n["strip_accents"].is_boolean() ? n["strip_accents"].get<bool>() : lowercase;
  return [=](std::string s) {
    std::string out;
    for_each_code_point(s, [&](int32_t cp, size_t at, size_t len) {
      const auto k = utf8proc_category(cp);
      // `tokenizers` reads categories from the unicode_categories crate, whose Cn leaves out the
      // noncharacters (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF): they stay, as [UNK].
      const bool noncharacter = (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
      const bool control = cp != '\t' && cp != '\n' && cp != '\r' &&
                           (k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF || (k == UTF8PROC_CATEGORY_CN && !noncharacter) ||
                            k == UTF8PROC_CATEGORY_CO || k == UTF8PROC_CATEGORY_CS);
      if (clean && (cp == 0 || cp == 0xFFFD || control)) return;
      if (clean && is_whitespace(cp)) out += ' ';
      else if (chinese && is_cjk(cp)) out += " " + s.substr(at, len) + " ";
      else out.append(s, at, len);
    });
    if (strip) {
      std::string kept;
      const std::string decomposed = unicode_normalize(out, UTF8PROC_DECOMPOSE);
      for_each_code_point(decomposed, [&](int32_t cp, size_t at, size_t len) {
        if (utf8proc_category(cp) != UTF8PROC_CATEGORY_MN) kept.append(decomposed, at, len);
      });
      out = std::move(kept);
    }
    if (lowercase) {
      std::string lower;
      for_each_code_point(out, [&](int32_t cp, size_t, size_t) { lower += encode_utf8(utf8proc_tolower(cp)); });
      out = std::move(lower);
    }
    return out;
  };
}

Normalizer normalizer_of(const json& n) {
  const std::string type = type_of(n);
  if (type == "Sequence") {
    std::vector<Normalizer> parts;
    for (const json& p : n.at("normalizers")) parts.push_back(normalizer_of(p));
    return [parts](std::string s) {
      for (const Normalizer& p : parts) s = p(std::move(s));
      return s;
    };
  }
  if (type == "Prepend") {  // nothing is prepended to an empty string, as Hugging Face does
    const std::string prefix = n.at("prepend").get<std::string>();
    return [prefix](std::string s) { return s.empty() ? s : prefix + s; };
  }
  if (type == "Replace") {
    const std::shared_ptr<Regex> pattern = read_pattern(n.at("pattern"));
    const std::string content = n.at("content").get<std::string>();
    return [pattern, content](std::string s) { return pattern->replace_all(s, content); };
  }
  if (type == "NFC") return [](std::string s) { return unicode_normalize(s, UTF8PROC_COMPOSE); };
  if (type == "NFD") return [](std::string s) { return unicode_normalize(s, UTF8PROC_DECOMPOSE); };
  if (type == "NFKC") return [](std::string s) { return unicode_normalize(s, utf8proc_option_t(UTF8PROC_COMPOSE | UTF8PROC_COMPAT)); };
  if (type == "NFKD") return [](std::string s) { return unicode_normalize(s, utf8proc_option_t(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT)); };
  if (type == "Lowercase")
    return [](std::string s) {
      std::string out;
      for_each_code_point(s, [&](int32_t cp, size_t, size_t) { out += encode_utf8(utf8proc_tolower(cp)); });
      return out;
    };
  if (type == "BertNormalizer") return bert_normalizer(n);
  if (type == "StripAccents")  // drops nonspacing marks (after an NFD, the accents)
    return [](std::string s) {
      std::string out;
      for_each_code_point(s, [&](int32_t cp, size_t at, size_t n) {
        if (utf8proc_category(cp) != UTF8PROC_CATEGORY_MN) out.append(s, at, n);
      });
      return out;
    };
  if (type == "Strip") {
    const bool left = n.value("strip_left", true), right = n.value("strip_right", true);
    return [left, right](std::string s) {
      size_t begin = s.size(), end = 0;  // the first and past the last non-space code point
      for_each_code_point(s, [&](int32_t cp, size_t at, size_t len) {
        if (is_whitespace(cp)) return;
        begin = std::min(begin, at);
        end = at + len;
      });
      if (begin >= end) return std::string();
      return s.substr(left ? begin : 0, (right ? end : s.size()) - (left ? begin : 0));
    };
  }
  unsupported("normalizer", n);
}

// ---- pre-tokenizers ------------------------------------------------------------------------------

// GPT-2's pre-tokenizer regex (ByteLevel with use_regex).
constexpr const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

enum class Behavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

Behavior behavior_of(const std::string& name) {
  if (name == "Removed") return Behavior::removed;
  if (name == "Isolated") return Behavior::isolated;
  if (name == "MergedWithPrevious") return Behavior::merged_with_previous;
  if (name == "MergedWithNext") return Behavior::merged_with_next;
  if (name == "Contiguous") return Behavior::contiguous;
  throw Error("tokenizer.json: split behavior '" + name + "' is not supported");
}

// Splits `piece` at the matches of `pattern`, delimiters treated as `behavior` says (Hugging Face's
// SplitDelimiterBehavior); `invert`: the matches are what is kept apart and the gaps the delimiters.
std::vector<Piece> split(const Piece& piece, const Regex& pattern, Behavior behavior, bool invert) {
  struct Segment {
    size_t begin, end;
    bool is_match;
  };
  std::vector<Segment> segments;
  size_t at = 0;
  for (const auto& [b, e] : pattern.matches(piece.text)) {
    if (b > at) segments.push_back({at, b, invert});
    segments.push_back({b, e, !invert});
    at = e;
  }
  if (at < piece.text.size()) segments.push_back({at, piece.text.size(), invert});
  std::vector<Segment> kept;
  bool previous_match = false;
  switch (behavior) {
    case Behavior::removed:
      for (const Segment& s : segments)
        if (!s.is_match) kept.push_back(s);
      break;
    case Behavior::isolated: kept = segments; break;
    case Behavior::merged_with_previous:
      for (const Segment& s : segments) {
        if (s.is_match && !previous_match && !kept.empty()) kept.back().end = s.end;
        else kept.push_back(s);
        previous_match = s.is_match;
      }
      break;
    case Behavior::merged_with_next:
      for (auto s = segments.rbegin(); s != segments.rend(); ++s) {
        if (s->is_match && !previous_match && !kept.empty()) kept.back().begin = s->begin;
        else kept.push_back(*s);
        previous_match = s->is_match;
      }
      std::reverse(kept.begin(), kept.end());
      break;
    case Behavior::contiguous:
      for (const Segment& s : segments) {
        if (s.is_match == previous_match && !kept.empty()) kept.back().end = s.end;
        else kept.push_back(s);
        previous_match = s.is_match;
      }
      break;
  }
  std::vector<Piece> out;
  for (const Segment& s : kept)
    if (s.end > s.begin) out.push_back({piece.text.substr(s.begin, s.end - s.begin), piece.first && s.begin == 0});
  return out;
}

PreTokenizer splitter(std::shared_ptr<Regex> pattern, Behavior behavior, bool invert) {
  return [pattern, behavior, invert](std::vector<Piece> pieces) {
    std::vector<Piece> out;
    for (const Piece& p : pieces)
      for (Piece& q : split(p, *pattern, behavior, invert)) out.push_back(std::move(q));
    return out;
  };
}

PreTokenizer pre_tokenizer_of(const json& p) {
  const std::string type = type_of(p);
  if (type == "Sequence") {
    std::vector<PreTokenizer> parts;
    for (const json& q : p.at("pretokenizers")) parts.push_back(pre_tokenizer_of(q));
    return [parts](std::vector<Piece> pieces) {
      for (const PreTokenizer& q : parts) pieces = q(std::move(pieces));
      return pieces;
    };
  }
  if (type == "Split")
    return splitter(read_pattern(p.at("pattern")), behavior_of(p.value("behavior", std::string("Isolated"))),
                    p.value("invert", false));
  if (type == "Digits")
    return splitter(std::make_shared<Regex>(p.value("individual_digits", false) ? "\\p{N}" : "\\p{N}+"), Behavior::isolated, false);
  if (type == "Punctuation")  // Rust's is_ascii_punctuation or Unicode punctuation, one character each
    return splitter(std::make_shared<Regex>(R"([\p{P}!-/:-@\[-`{-~])"), behavior_of(p.value("behavior", std::string("Isolated"))),
                    false);
  // Rust's \w (Alphabetic, marks, decimal digits, connector punctuation, joiners): PCRE2 10.42's \w
  // leaves out the marks, which split NFD text differently.
  if (type == "Whitespace") {
    const std::string word = R"([\p{L}\p{Nl}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}])";
    const std::string not_word_or_space = R"([^\p{L}\p{Nl}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}\s])";
    return splitter(std::make_shared<Regex>(word + "+|" + not_word_or_space + "+"), Behavior::removed, true);
  }
  if (type == "WhitespaceSplit") return splitter(std::make_shared<Regex>(R"(\s+)"), Behavior::removed, false);
  if (type == "BertPreTokenizer")
    return pre_tokenizer_of(json{{"type", "Sequence"},
                                 {"pretokenizers", {{{"type", "WhitespaceSplit"}}, {{"type", "Punctuation"}}}}});
  if (type == "ByteLevel") {
    const bool prefix_space = p.value("add_prefix_space", false);
    const std::shared_ptr<Regex> regex = p.value("use_regex", true) ? std::make_shared<Regex>(kGpt2Pattern) : nullptr;
    return [prefix_space, regex](std::vector<Piece> pieces) {
      std::vector<Piece> out;
      for (Piece& p : pieces) {
        if (prefix_space && p.text.rfind(' ', 0) != 0) p.text.insert(0, " ");
        std::vector<Piece> parts = regex ? split(p, *regex, Behavior::isolated, false) : std::vector<Piece>{p};
        for (Piece& q : parts) {
          std::string mapped;
          for (unsigned char b : q.text) mapped += byte_level_char(b);
          out.push_back({std::move(mapped), q.first});
        }
      }
      return out;
    };
  }
  if (type == "Metaspace") {
    const std::string replacement = p.value("replacement", std::string("\xE2\x96\x81"));
    std::string scheme = p.value("prepend_scheme", std::string());
    if (scheme.empty()) scheme = p.value("add_prefix_space", true) ? "always" : "never";
    if (scheme != "always" && scheme != "first" && scheme != "never")
      throw Error("tokenizer.json: Metaspace prepend_scheme '" + scheme + "' is not supported");
    const bool split_pieces = p.value("split", true);
    const auto at_replacement = std::make_shared<Regex>("\\Q" + replacement + "\\E");
    const auto spaces = std::make_shared<Regex>(" ");
    return [=](std::vector<Piece> pieces) {
      std::vector<Piece> out;
      for (Piece& p : pieces) {
        p.text = spaces->replace_all(p.text, replacement);
        const bool prepend = scheme == "always" || (scheme == "first" && p.first);
        if (prepend && p.text.rfind(replacement, 0) != 0) p.text.insert(0, replacement);
        if (!split_pieces) {
          out.push_back(std::move(p));
          continue;
        }
        for (Piece& q : split(p, *at_replacement, Behavior::merged_with_next, false)) out.push_back(std::move(q));
      }
      return out;
    };
  }
  unsupported("pre-tokenizer", p);
}

// ---- decoders -------------------------------------------------------------------------------------

// The characters of s as separate strings.
std::vector<std::string> characters(const std::string& s) {
  std::vector<std::string> out;
  for (size_t at = 0; at < s.size();) {
    const size_t n = std::max(1, utf8_sequence_length(std::string_view(s).substr(at)));
    out.push_back(s.substr(at, n));
    at += n;
  }
  return out;
}

const std::unordered_map<std::string, uint8_t>& byte_of_char() {
  static const auto table = [] {
    std::unordered_map<std::string, uint8_t> t;
    for (int b = 0; b < 256; ++b) t[byte_level_char(uint8_t(b))] = uint8_t(b);
    return t;
  }();
  return table;
}

Decoder decoder_of(const json& d) {
  const std::string type = type_of(d);
  if (type == "Sequence") {
    std::vector<Decoder> parts;
    for (const json& q : d.at("decoders")) parts.push_back(decoder_of(q));
    return [parts](std::vector<std::string> tokens) {
      for (const Decoder& q : parts) tokens = q(std::move(tokens));
      return tokens;
    };
  }
  if (type == "ByteLevel")  // every token's characters back to bytes (a token with any other character
                            // stays as its own bytes), then one lossy UTF-8 reading of the whole run
    return [](std::vector<std::string> tokens) {
      std::string bytes;
      for (const std::string& t : tokens) {
        std::string mapped;
        bool all = true;
        for (const std::string& c : characters(t)) {
          const auto it = byte_of_char().find(c);
          if (it == byte_of_char().end()) {
            all = false;
            break;
          }
          mapped += char(it->second);
        }
        bytes += all ? mapped : t;
      }
      return std::vector<std::string>{utf8_lossy(bytes)};
    };
  if (type == "ByteFallback")  // a run of <0xHH> tokens: its bytes if valid UTF-8, else U+FFFD per byte
    return [](std::vector<std::string> tokens) {
      std::vector<std::string> out;
      std::string run;
      size_t count = 0;
      const auto flush = [&] {
        if (!count) return;
        if (is_valid_utf8(run)) out.push_back(run);
        else
          for (size_t i = 0; i < count; ++i) out.push_back(std::string(kReplacementCharacter));
        run.clear(), count = 0;
      };
      for (std::string& t : tokens) {
        if (const auto b = byte_fallback_value(t)) {
          run += char(*b), ++count;
          continue;
        }
        flush();
        out.push_back(std::move(t));
      }
      flush();
      return out;
    };
  if (type == "Fuse")
    return [](std::vector<std::string> tokens) {
      std::string all;
      for (const std::string& t : tokens) all += t;
      return std::vector<std::string>{all};
    };
  if (type == "Strip") {  // per token: up to `start` leading and `stop` trailing copies of `content`
    const std::string content = d.at("content").get<std::string>();
    const size_t start = d.value("start", size_t{0}), stop = d.value("stop", size_t{0});
    return [=](std::vector<std::string> tokens) {
      for (std::string& t : tokens) {
        std::vector<std::string> cs = characters(t);
        size_t b = 0, e = cs.size();
        while (b < start && b < e && cs[b] == content) ++b;
        for (size_t k = 0; k < stop && e > b && cs[e - 1] == content; ++k) --e;
        std::string kept;
        for (size_t i = b; i < e; ++i) kept += cs[i];
        t = kept;
      }
      return tokens;
    };
  }
  if (type == "Replace") {
    const std::shared_ptr<Regex> pattern = read_pattern(d.at("pattern"));
    const std::string content = d.at("content").get<std::string>();
    return [pattern, content](std::vector<std::string> tokens) {
      for (std::string& t : tokens) t = pattern->replace_all(t, content);
      return tokens;
    };
  }
  if (type == "Metaspace") {  // the replacement becomes a space; in the first token it is dropped
    const std::string replacement = d.value("replacement", std::string("\xE2\x96\x81"));
    std::string scheme = d.value("prepend_scheme", std::string());
    if (scheme.empty()) scheme = d.value("add_prefix_space", true) ? "always" : "never";
    return [=](std::vector<std::string> tokens) {
      for (size_t i = 0; i < tokens.size(); ++i) {
        std::string out;
        for (const std::string& c : characters(tokens[i])) {
          if (c != replacement) out += c;
          else if (i != 0 || scheme == "never") out += ' ';
        }
        tokens[i] = out;
      }
      return tokens;
    };
  }
  if (type == "BPEDecoder") {  // the end-of-word suffix becomes a space, except after the last token
    const std::string suffix = d.value("suffix", std::string("</w>"));
    return [suffix](std::vector<std::string> tokens) {
      for (size_t i = 0; i < tokens.size(); ++i)
        for (size_t at = tokens[i].find(suffix); !suffix.empty() && at != std::string::npos; at = tokens[i].find(suffix, at))
          tokens[i].replace(at, suffix.size(), i + 1 == tokens.size() ? "" : " "), at += (i + 1 == tokens.size() ? 0 : 1);
      return tokens;
    };
  }
  if (type == "WordPiece") {  // "##" continues a word; other tokens after the first start one
    const std::string prefix = d.value("prefix", std::string("##"));
    const bool cleanup = d.value("cleanup", true);
    return [=](std::vector<std::string> tokens) {
      for (size_t i = 0; i < tokens.size(); ++i) {
        std::string& t = tokens[i];
        if (t.rfind(prefix, 0) == 0) t.erase(0, prefix.size());
        else if (i != 0) t.insert(0, " ");
        if (cleanup)
          for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
                   {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"}, {" 'm", "'m"},
                   {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}})
            for (size_t at = t.find(from); at != std::string::npos; at = t.find(from, at + to.size())) t.replace(at, from.size(), to);
      }
      return tokens;
    };
  }
  unsupported("decoder", d);
}

}  // namespace

Normalizer read_normalizer(const json& n) {
  if (n.is_null()) return [](std::string s) { return s; };
  return normalizer_of(n);
}

PreTokenizer read_pre_tokenizer(const json& p) {
  if (p.is_null()) return [](std::vector<Piece> pieces) { return pieces; };
  return pre_tokenizer_of(p);
}

Decoder read_decoder(const json& d) {
  if (d.is_null())
    return [](std::vector<std::string> tokens) {
      std::string joined;
      for (size_t i = 0; i < tokens.size(); ++i) joined += (i ? " " : "") + tokens[i];
      return std::vector<std::string>{joined};
    };
  return decoder_of(d);
}

std::optional<uint8_t> byte_fallback_value(std::string_view token) {
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return std::nullopt;
  const auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; };
  const int hi = hex(token[3]), lo = hex(token[4]);
  if (hi < 0 || lo < 0) return std::nullopt;
  return uint8_t(hi * 16 + lo);
}

const std::string& byte_level_char(uint8_t byte) {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    int32_t next = 256;  // bytes without a printable character of their own take 256, 257, ...
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
      t[size_t(b)] = encode_utf8(printable ? b : next++);
    }
    return t;
  }();
  return table[byte];
}

std::shared_ptr<Regex> read_pattern(const json& pattern) {
  if (pattern.is_object() && pattern.contains("Regex")) return std::make_shared<Regex>(pattern["Regex"].get<std::string>());
  if (pattern.is_object() && pattern.contains("String"))
    return std::make_shared<Regex>("\\Q" + pattern["String"].get<std::string>() + "\\E");
  throw Error("tokenizer.json: a pattern must be {\"String\": ...} or {\"Regex\": ...}");
}

Regex::Regex(const std::string& pattern) {
  int code = 0;
  PCRE2_SIZE offset = 0;
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.c_str()), pattern.size(), PCRE2_UTF | PCRE2_UCP, &code, &offset,
                        nullptr);
  if (!code_) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(code, message, sizeof message);
    throw Error("tokenizer.json: bad regex at offset " + std::to_string(offset) + ": " + reinterpret_cast<const char*>(message));
  }
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

std::vector<std::pair<size_t, size_t>> Regex::matches(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> out;
  auto* re = static_cast<pcre2_code*>(code_);
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(re, nullptr);
  size_t at = 0;
  while (at <= text.size()) {
    const int rc = pcre2_match(re, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), at, 0, md, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      pcre2_match_data_free(md);
      throw Error(rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21 ? "text is not valid UTF-8"
                                                                              : "tokenizer regex failed (" + std::to_string(rc) + ")");
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
    if (ov[1] == ov[0]) {  // an empty match: step over one character
      at = ov[0] + (ov[0] < text.size() ? size_t(std::max(1, utf8_sequence_length(text.substr(ov[0])))) : 1);
      continue;
    }
    out.emplace_back(ov[0], ov[1]);
    at = ov[1];
  }
  pcre2_match_data_free(md);
  return out;
}

std::string Regex::replace_all(std::string_view text, std::string_view with) const {
  std::string out;
  size_t at = 0;
  for (const auto& [b, e] : matches(text)) {
    out.append(text.substr(at, b - at));
    out.append(with);
    at = e;
  }
  out.append(text.substr(at));
  return out;
}

}  // namespace hifp8::model::tokenizer_json
