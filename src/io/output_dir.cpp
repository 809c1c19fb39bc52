#include "hifp8/io/output_dir.h"

#include <unistd.h>

#include "hifp8/error.h"

namespace hifp8::io {
namespace fs = std::filesystem;

OutputDir::OutputDir(const fs::path& target, bool force) : target_(fs::absolute(target).lexically_normal()), force_(force) {
  if (target_.filename().empty()) target_ = target_.parent_path();
  if (fs::exists(target_) && !force) throw Error(target.string() + " already exists (use --force to replace it)");
  std::error_code ec;
  fs::create_directories(target_.parent_path(), ec);  // like save_pretrained: parents are created
  if (!fs::is_directory(target_.parent_path())) throw Error(target_.parent_path().string() + ": cannot create the directory");
  temp_ = target_.parent_path() / ("." + target_.filename().string() + ".tmp-" + std::to_string(::getpid()));
  fs::remove_all(temp_);
  fs::create_directory(temp_);
}

OutputDir::~OutputDir() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(temp_, ec);
  }
}

void OutputDir::commit() {
  if (fs::exists(target_)) {
    if (!force_) throw Error(target_.string() + " appeared while writing; output left in " + temp_.string());
    const fs::path old = target_.parent_path() / ("." + target_.filename().string() + ".old-" + std::to_string(::getpid()));
    fs::rename(target_, old);
    fs::rename(temp_, target_);
    fs::remove_all(old);
  } else {
    fs::rename(temp_, target_);
  }
  committed_ = true;
}

}  // namespace hifp8::io
