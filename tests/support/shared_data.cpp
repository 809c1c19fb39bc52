#include "support/shared_data.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace hifp8::test {

// HIFP8_SHARED_DIR in the environment overrides the build-time path (the device machine gets a copy).
std::filesystem::path shared_dir() {
  if (const char* dir = std::getenv("HIFP8_SHARED_DIR")) return dir;
  return HIFP8_SHARED_DIR;
}

std::filesystem::path source_dir() {
  if (const char* dir = std::getenv("HIFP8_SOURCE_DIR")) return dir;
  return HIFP8_SOURCE_DIR;
}

std::filesystem::path shared_path(const std::string& relative) {
  const std::filesystem::path path = shared_dir() / relative;
  if (!std::filesystem::exists(path))
    throw std::runtime_error("reference data missing: " + path.string() +
                             " (tests expect the shared/ folder beside the repository root)");
  return path;
}

std::vector<std::vector<std::string>> read_tsv(const std::filesystem::path& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot open " + path.string());
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(file, line);  // header
  while (std::getline(file, line)) {
    if (line.empty()) continue;
    std::vector<std::string> fields;
    std::stringstream stream(line);
    std::string field;
    while (std::getline(stream, field, '\t')) fields.push_back(field);
    rows.push_back(fields);
  }
  if (rows.empty()) throw std::runtime_error("no rows in " + path.string());
  return rows;
}

uint32_t parse_hex(const std::string& text) { return static_cast<uint32_t>(std::stoul(text, nullptr, 16)); }

}  // namespace hifp8::test
