#pragma once
// Token ids as text: a decimal id, and token files (one document per non-empty line of space-separated
// ids, as ../shared/data/*.tokens) that evaluation and calibration read.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hifp8::io {

using Document = std::vector<int32_t>;

// A token id written in decimal ("42"); nullopt for anything else (signs, spaces, > INT32_MAX).
std::optional<int32_t> parse_token_id(const std::string& text);

// Error naming the file and line for a word that is not an id, or a file without tokens.
std::vector<Document> read_token_file(const std::filesystem::path& path);

}  // namespace hifp8::io
