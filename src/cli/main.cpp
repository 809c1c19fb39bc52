#include <malloc.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string_view>

#include "cli/commands.h"
#include "cli/interrupt.h"
#include "hifp8/error.h"
#ifdef HIFP8_HAVE_CUDA
#include "hifp8/model/gpu_model.h"
#endif

int main(int argc, char** argv) {
  // The engines allocate and free megabyte-sized activation buffers every layer. glibc's defaults
  // hand such blocks back to the kernel (mmap, heap trimming), and each reuse page-faults fresh zeroed
  // pages: 9 % of a CPU prefill in the kernel's page clearing (perf, 2026-12-01). Keep them in the heap.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  // `serve` handles its signals itself (graceful drain); every other command cleans up and exits.
  if (argc < 2 || std::string_view(argv[1]) != "serve") hifp8::cli::install_interrupt_cleanup();
#ifdef HIFP8_HAVE_CUDA
  hifp8::model::install_cuda_engine();
#endif
  CLI::App app{"hifp8: 8-bit float (HiFloat8, OCP FP8) and INT8 quantization toolkit", "hifp8"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "hifp8 " HIFP8_VERSION);
  // --help shows every option's default (e.g. "--threads INT=0"), for the subcommands too.
  app.option_defaults()->always_capture_default();
  hifp8::cli::add_formats_command(app);
  hifp8::cli::add_codec_commands(app);
  hifp8::cli::add_bench_command(app);
  hifp8::cli::add_quantize_commands(app);
  hifp8::cli::add_inspect_command(app);
  hifp8::cli::add_generate_commands(app);
  hifp8::cli::add_eval_commands(app);
  hifp8::cli::add_serve_command(app);
  hifp8::cli::add_tokenize_commands(app);
  if (argc == 1) {  // no command: what there is to run
    std::printf("%s", app.help().c_str());
    return 0;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "hifp8: error: %s\n", e.what());
    return 2;
  } catch (const hifp8::Error& e) {
    std::fprintf(stderr, "hifp8: error: %s\n", e.what());
    return 2;
  } catch (const std::filesystem::filesystem_error& e) {  // a path problem of the user's (a loop, permissions)
    std::fprintf(stderr, "hifp8: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hifp8: internal error: %s\n", e.what());
    return 1;
  }
  // What a command printed is its output: a write that failed (a full disk, a closed pipe, /dev/full)
  // is an error, not exit 0 with a truncated result.
  std::cout.flush();
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout) || !std::cout.good()) {
    std::fprintf(stderr, "hifp8: error: cannot write to standard output: %s\n",
                 errno ? std::strerror(errno) : "write failed");
    return 2;
  }
  return 0;
}
