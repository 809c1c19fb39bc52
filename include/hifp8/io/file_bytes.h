#pragma once
// Whole-file byte I/O for the CLI filters. Writes go to a temporary file beside the target and are
// renamed into place only once complete, so a failure never leaves a half-written output.
#include <cstdint>
#include <string>
#include <vector>

namespace hifp8::io {

// "-" reads standard input to EOF.
std::vector<uint8_t> read_all(const std::string& path);
// "-" writes standard output (not atomic: a stream has no rename).
void write_all(const std::string& path, const void* data, size_t size);

}  // namespace hifp8::io
