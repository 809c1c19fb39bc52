#include "hifp8/io/temp_paths.h"

#include <mutex>
#include <set>

namespace hifp8::io {
namespace {

std::recursive_mutex& registry_lock() {
  static std::recursive_mutex m;
  return m;
}
std::set<std::filesystem::path>& registry() {
  static std::set<std::filesystem::path> paths;
  return paths;
}

}  // namespace

void register_temp_path(const std::filesystem::path& path) {
  const std::lock_guard<std::recursive_mutex> g(registry_lock());
  registry().insert(path);
}

void unregister_temp_path(const std::filesystem::path& path) {
  const std::lock_guard<std::recursive_mutex> g(registry_lock());
  registry().erase(path);
}

void remove_temp_paths_for_exit() {
  registry_lock().lock();  // never unlocked: the process is about to exit
  for (const auto& p : registry()) {
    std::error_code ec;
    std::filesystem::remove_all(p, ec);
  }
}

CommitGuard::CommitGuard() { registry_lock().lock(); }
CommitGuard::~CommitGuard() { registry_lock().unlock(); }

}  // namespace hifp8::io
