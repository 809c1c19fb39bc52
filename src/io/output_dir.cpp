#include "hifp8/io/output_dir.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "hifp8/error.h"
#include "hifp8/io/file_bytes.h"
#include "hifp8/io/temp_paths.h"

namespace hifp8::io {
namespace fs = std::filesystem;
namespace {

// a is b, or lies inside b.
bool within(const fs::path& a, const fs::path& b) {
  auto ai = a.begin(), bi = b.begin();
  for (; bi != b.end() && !bi->empty(); ++ai, ++bi)
    if (ai == a.end() || *ai != *bi) return false;
  return true;
}

fs::path canonical_or_lexical(const fs::path& p) {
  std::error_code ec;
  const fs::path c = fs::weakly_canonical(fs::absolute(p), ec);
  return ec ? fs::absolute(p).lexically_normal() : c;
}

// ".NAME.tmp-PID" / ".NAME.old-PID" beside the target: the PID, if the name has that form.
std::optional<pid_t> owner_pid(const std::string& file, const std::string& prefix) {
  if (file.rfind(prefix, 0) != 0) return std::nullopt;
  const std::string digits = file.substr(prefix.size());
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return pid_t(std::stol(digits));
}

bool process_alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

// Temporary directories of earlier runs into this target whose process is gone are removed; a kept
// previous output (".old-PID", left when a commit could not put it back) is only reported.
void clean_stale_siblings(const fs::path& target) {
  const std::string name = "." + target.filename().string();
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(target.parent_path(), ec)) {
    const std::string file = e.path().filename().string();
    if (const auto pid = owner_pid(file, name + ".tmp-"); pid && *pid != ::getpid() && !process_alive(*pid)) {
      std::error_code rm;
      fs::remove_all(e.path(), rm);
      std::fprintf(stderr, "hifp8: removed %s, left by an interrupted run (process %d)\n", e.path().c_str(), int(*pid));
    } else if (owner_pid(file, name + ".old-")) {
      std::fprintf(stderr, "hifp8: warning: %s holds a previous output that an earlier run could not put back\n",
                   e.path().c_str());
    }
  }
}

void sync_tree(const fs::path& dir) {
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
      const std::string message = std::string("cannot write '") + e.path().string() + "': " + std::strerror(errno);
      if (fd >= 0) ::close(fd);
      throw Error(message);
    }
    ::close(fd);
  }
  sync_directory(dir);
}

}  // namespace

void check_output_apart(const fs::path& target, const std::vector<fs::path>& inputs) {
  fs::path out = canonical_or_lexical(target);
  if (out.filename().empty()) out = out.parent_path();
  for (const fs::path& input : inputs) {
    const fs::path in = canonical_or_lexical(input);
    const std::string what = "the output directory " + target.string();
    if (out == in) throw Error(what + " is the input: choose another output directory");
    if (within(out, in)) throw Error(what + " lies inside the input " + input.string() + ": choose another output directory");
    if (within(in, out))
      throw Error(what + " contains the input " + input.string() + " (replacing it would delete the input): choose another output directory");
  }
}

OutputDir::OutputDir(const fs::path& target, bool force, const std::vector<fs::path>& inputs)
    : target_(canonical_or_lexical(target)), force_(force) {
  if (target_.filename().empty()) target_ = target_.parent_path();
  check_output_apart(target, inputs);
  if (fs::exists(target_) && !force) throw Error(target.string() + " already exists (use --force to replace it)");
  if (fs::exists(target_) && !fs::is_directory(target_)) throw Error(target.string() + " exists and is not a directory");
  std::error_code ec;
  fs::create_directories(target_.parent_path(), ec);  // like save_pretrained: parents are created
  if (!fs::is_directory(target_.parent_path())) throw Error(target_.parent_path().string() + ": cannot create the directory");
  clean_stale_siblings(target_);
  temp_ = target_.parent_path() / ("." + target_.filename().string() + ".tmp-" + std::to_string(::getpid()));
  register_temp_path(temp_);
  fs::remove_all(temp_);
  fs::create_directory(temp_);
}

OutputDir::~OutputDir() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(temp_, ec);
  }
  unregister_temp_path(temp_);
}

void OutputDir::commit() {
  sync_tree(temp_);
  const CommitGuard guard;
  std::error_code ec;
  if (fs::exists(target_)) {
    if (!force_) throw Error(target_.string() + " appeared while writing; output left in " + temp_.string());
    const fs::path old = target_.parent_path() / ("." + target_.filename().string() + ".old-" + std::to_string(::getpid()));
    fs::rename(target_, old, ec);
    if (ec) throw Error("cannot replace " + target_.string() + ": " + ec.message());
    fs::rename(temp_, target_, ec);
    if (ec) {
      std::error_code back;
      fs::rename(old, target_, back);
      if (back)
        throw Error("cannot rename the new output into " + target_.string() + " (" + ec.message() +
                    "), nor put the previous one back: it is in " + old.string());
      throw Error("cannot rename the new output into " + target_.string() + ": " + ec.message() + " (previous output kept)");
    }
    fs::remove_all(old, ec);
  } else {
    fs::rename(temp_, target_, ec);
    if (ec) throw Error("cannot rename the new output into " + target_.string() + ": " + ec.message());
  }
  sync_directory(target_.parent_path());
  committed_ = true;
}

}  // namespace hifp8::io
