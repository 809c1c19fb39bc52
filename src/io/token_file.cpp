#include "hifp8/io/token_file.h"

#include <algorithm>
#include <climits>
#include <fstream>
#include <sstream>

#include "hifp8/error.h"

namespace hifp8::io {

std::optional<int32_t> parse_token_id(const std::string& text) {
  if (text.empty() || text.size() > 10 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  const long long v = std::stoll(text);
  if (v > INT32_MAX) return std::nullopt;
  return int32_t(v);
}

std::vector<Document> read_token_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot read token file " + path.string());
  std::vector<Document> docs;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    std::istringstream words(line);
    Document doc;
    std::string w;
    while (words >> w) {
      const std::optional<int32_t> id = parse_token_id(w);
      if (!id) throw Error(path.string() + ":" + std::to_string(number) + ": '" + w + "' is not a token id");
      doc.push_back(*id);
    }
    if (!doc.empty()) docs.push_back(std::move(doc));
  }
  if (docs.empty()) throw Error("token file " + path.string() + " has no tokens");
  return docs;
}

}  // namespace hifp8::io
