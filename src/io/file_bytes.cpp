#include "hifp8/io/file_bytes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hifp8/error.h"
#include "hifp8/io/temp_paths.h"

namespace hifp8::io {
namespace fs = std::filesystem;
namespace {

std::string system_error(const std::string& what, const std::string& path) {
  return what + " '" + path + "': " + std::strerror(errno);
}

// Where writing to `path` must go: the resolved target of a symlink chain, and whether it can be
// replaced by a rename (a regular file or nothing yet) or must be written in place (FIFO, device).
struct Destination {
  fs::path path;
  bool replace;
};

Destination destination_of(const std::string& path) {
  std::error_code ec;
  const fs::path resolved = fs::weakly_canonical(fs::path(path), ec);
  const fs::path target = ec ? fs::path(path) : resolved;
  const fs::file_status st = fs::status(target, ec);
  if (ec || !fs::exists(st) || fs::is_regular_file(st)) return {target, true};
  if (fs::is_directory(st)) throw Error("cannot write '" + path + "': it is a directory");
  return {target, false};
}

}  // namespace

int open_regular_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw Error(system_error("cannot open", path.string()));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error("'" + path.string() + "' is not a regular file");
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

std::string read_file(const fs::path& path) {
  const int fd = open_regular_file(path);
  std::string data;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const std::string message = system_error("cannot read", path.string());
      ::close(fd);
      throw Error(message);
    }
    if (got == 0) break;
    data.append(buffer, size_t(got));
  }
  ::close(fd);
  return data;
}

OutputFile::OutputFile(const std::string& path) : target_(path) {
  if (path == "-") {
    file_ = stdout;
    return;
  }
  const Destination d = destination_of(path);
  if (d.replace) {
    target_ = d.path.string();
    temp_ = (d.path.parent_path() / ("." + d.path.filename().string() + ".tmp-" + std::to_string(::getpid()))).string();
    file_ = std::fopen(temp_.c_str(), "wb");
    if (!file_) throw Error(system_error("cannot create", temp_));
    register_temp_path(temp_);
  } else {
    file_ = std::fopen(d.path.c_str(), "wb");
    if (!file_) throw Error(system_error("cannot open", path));
  }
}

OutputFile::~OutputFile() {
  if (file_ && file_ != stdout) std::fclose(file_);
  if (!committed_ && !temp_.empty()) {
    std::error_code ec;
    fs::remove(temp_, ec);
  }
  if (!temp_.empty()) unregister_temp_path(temp_);
}

void OutputFile::write(const void* data, size_t size) {
  if (size && std::fwrite(data, 1, size, file_) != size)
    throw Error(system_error("cannot write", temp_.empty() ? target_ : temp_));
}

void OutputFile::commit() {
  const std::string name = temp_.empty() ? target_ : temp_;
  if (std::fflush(file_) != 0) throw Error(system_error("cannot write", name));
  if (file_ == stdout) {
    committed_ = true;
    return;
  }
  if (!temp_.empty() && ::fsync(::fileno(file_)) != 0) throw Error(system_error("cannot write", name));
  const int closed = std::fclose(file_);
  file_ = nullptr;
  if (closed != 0) throw Error(system_error("cannot write", name));
  if (!temp_.empty()) {
    const CommitGuard guard;
    if (::rename(temp_.c_str(), target_.c_str()) != 0) throw Error(system_error("cannot rename '" + temp_ + "' to", target_));
    sync_directory(fs::path(target_).parent_path());
  }
  committed_ = true;
}

void write_all(const std::string& path, const void* data, size_t size) {
  OutputFile out(path);
  out.write(data, size);
  out.commit();
}

void write_file(const fs::path& path, std::string_view text) { write_all(path.string(), text.data(), text.size()); }

void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw Error(system_error("cannot open directory", dir.string()));
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  if (rc != 0 && errno != EINVAL) throw Error(system_error("cannot sync directory", dir.string()));
}

}  // namespace hifp8::io
