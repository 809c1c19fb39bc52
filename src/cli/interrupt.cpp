#include "cli/interrupt.h"

#include <signal.h>
#include <unistd.h>

#include <thread>

#include "hifp8/io/temp_paths.h"

namespace hifp8::cli {

void install_interrupt_cleanup() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // inherited by every thread started from now on
  std::thread([set] {
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
    static const char message[] = "hifp8: interrupted; temporary output removed\n";
    [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, message, sizeof message - 1);
    io::remove_temp_paths_for_exit();
    ::_exit(128 + sig);
  }).detach();
}

}  // namespace hifp8::cli
