#pragma once
// Errors on user input are exceptions carrying a one-line message that names the fault; the CLI
// catches them at its edge and exits non-zero. Nothing in the library aborts on bad input.
#include <stdexcept>
#include <string>

namespace hifp8 {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace hifp8
