#include "hifp8/model/utf8.h"

namespace hifp8::model {
namespace {

// Bytes of the ill-formed or complete sequence at the start of text: {length, complete}. For an
// ill-formed start, length is the maximal subpart (lead byte plus the continuation bytes that were
// still allowed), at least 1.
struct Sequence {
  size_t length;
  bool valid;
};

Sequence next_sequence(std::string_view t) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(t[i]); };
  const unsigned char lead = b(0);
  if (lead < 0x80) return {1, true};
  size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte (Unicode Table 3-7)
  if (lead >= 0xC2 && lead <= 0xDF) need = 1;
  else if (lead == 0xE0) need = 2, lo = 0xA0;
  else if (lead == 0xED) need = 2, hi = 0x9F;
  else if (lead >= 0xE1 && lead <= 0xEF) need = 2;
  else if (lead == 0xF0) need = 3, lo = 0x90;
  else if (lead == 0xF4) need = 3, hi = 0x8F;
  else if (lead >= 0xF1 && lead <= 0xF3) need = 3;
  else return {1, false};
  for (size_t i = 1; i <= need; ++i) {
    if (i >= t.size()) return {i, false};
    const unsigned char c = b(i);
    if (i == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) return {i, false};
  }
  return {need + 1, true};
}

}  // namespace

int utf8_sequence_length(std::string_view text) {
  if (text.empty()) return 0;
  const Sequence s = next_sequence(text);
  return s.valid ? int(s.length) : 0;
}

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t at = 0;
  while (at < bytes.size()) {
    const Sequence s = next_sequence(bytes.substr(at));
    if (s.valid) out.append(bytes.substr(at, s.length));
    else out.append(kReplacementCharacter);
    at += s.length;
  }
  return out;
}

bool is_valid_utf8(std::string_view text) {
  for (size_t at = 0; at < text.size();) {
    const Sequence s = next_sequence(text.substr(at));
    if (!s.valid) return false;
    at += s.length;
  }
  return true;
}

size_t utf8_length(std::string_view text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;  // every byte but continuation bytes starts a character
  return n;
}

}  // namespace hifp8::model
