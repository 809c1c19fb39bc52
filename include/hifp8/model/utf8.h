#pragma once
// UTF-8 validity for text that leaves the program (HTTP responses, JSON, the terminal): token bytes
// from a byte-level or byte-fallback vocabulary need not form valid UTF-8.
#include <string>
#include <string_view>

namespace hifp8::model {

inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

// Bytes (1-4) of the complete, valid character at the start of `text`; 0 if there is none.
int utf8_sequence_length(std::string_view text);

// Valid UTF-8 of `bytes`: every maximal ill-formed subpart becomes one U+FFFD (Unicode's recommended
// practice, what Rust's String::from_utf8_lossy and WHATWG's decoder do, and so Hugging Face
// tokenizers' ByteLevel decoder).
std::string utf8_lossy(std::string_view bytes);

bool is_valid_utf8(std::string_view text);

// Characters (code points) of valid UTF-8 text: Python's len(), for character offsets in APIs.
size_t utf8_length(std::string_view text);

}  // namespace hifp8::model
