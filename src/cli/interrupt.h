#pragma once
// SIGINT / SIGTERM / SIGHUP for the commands that write outputs: a watcher thread (the signals are
// blocked in every other thread) removes the temporary files and directories being written
// (io/temp_paths.h) and exits with 128 + the signal number, so an interrupted quantize, synth or
// encode leaves nothing behind. Must be called before any other thread starts.
namespace hifp8::cli {

void install_interrupt_cleanup();

}  // namespace hifp8::cli
