#pragma once
// Access to ../shared (golden vectors, models, data) for tests. Missing data is a test failure with
// the path in the message, never a silent pass.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hifp8::test {

std::filesystem::path shared_dir();
// The repository root (HIFP8_SOURCE_DIR in the environment overrides the build-time path).
std::filesystem::path source_dir();
// Throws (failing the test) if ../shared/<relative> does not exist.
std::filesystem::path shared_path(const std::string& relative);

// Rows of a golden-vector TSV (header skipped), each split on tabs.
std::vector<std::vector<std::string>> read_tsv(const std::filesystem::path& path);
uint32_t parse_hex(const std::string& text);

}  // namespace hifp8::test
