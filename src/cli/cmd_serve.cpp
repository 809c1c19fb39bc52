// hifp8 serve: the OpenAI-compatible server (docs/serve.md) over the CPU engine or (--device cuda) the GPU.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <thread>

#include "cli/commands.h"
#include "hifp8/error.h"
#include "hifp8/model/chat_template.h"
#include "hifp8/model/engine.h"
#include "hifp8/model/model.h"
#include "hifp8/model/tokenizer.h"
#include "hifp8/serve/server.h"

namespace hifp8::cli {
namespace {

struct ServeArgs {
  std::string model, name, chat_format;
  EngineArgs engine;
  serve::ServerOptions options;
};

void run_serve(const ServeArgs& a) {
  // SIGTERM / SIGINT: a graceful stop from a thread that waits for them. They are blocked first, before
  // any thread exists — the CUDA driver starts threads of its own when the GPU engine is created, and
  // a signal delivered to one of those would kill the process (seen on the H200: exit 143).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  if (a.engine.options.slots < 1) throw Error("--max-concurrency must be at least 1");
  LoadedEngine loaded = load_engine(a.model, a.engine);
  const model::Model& m = *loaded.model;
  std::unique_ptr<model::Tokenizer> tokenizer;
  try {
    tokenizer = model::Tokenizer::load(a.model);
  } catch (const Error&) {
    std::fprintf(stderr, "hifp8 serve: %s has no tokenizer: prompts must be token ids\n", a.model.c_str());
  }
  std::vector<int64_t> eos = m.config().eos_tokens;
  if (tokenizer)
    for (int32_t e : tokenizer->eos_ids()) eos.push_back(e);
  // Without a chat template, /v1/chat/completions answers 400 (completions still work). A template
  // that does not parse is an error at start, not at the first request.
  std::optional<model::ChatTemplate> chat;
  if (!a.chat_format.empty()) {
    chat = model::ChatTemplate::load(a.model, a.chat_format);
  } else if (tokenizer) {
    chat = model::ChatTemplate::find(a.model);
    if (!chat) std::fprintf(stderr, "hifp8 serve: %s has no chat template: /v1/chat/completions is off (or pass --chat-format)\n", a.model.c_str());
  }
  if (chat) std::fprintf(stderr, "hifp8 serve: chat prompts from %s\n", chat->describe().c_str());
  serve::ServerOptions options = a.options;
  options.served_model_name = a.name.empty() ? a.model : a.name;

  serve::Server server(options, std::move(loaded.engine), std::move(tokenizer), std::move(chat), eos);
  std::thread watcher([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    std::fprintf(stderr, "hifp8 serve: %s, finishing running requests\n", signal == SIGTERM ? "SIGTERM" : "SIGINT");
    server.stop();
  });
  watcher.detach();
  server.run();
  std::fprintf(stderr, "hifp8 serve: stopped\n");
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server (/v1/completions, /v1/chat/completions)");
  cmd->add_option("--model", a->model, "Model directory")->required();
  cmd->add_option("--served-model-name", a->name, "The model id clients use (default: the --model path)");
  cmd->add_option("--host", a->options.host, "Address to listen on (default 127.0.0.1)");
  cmd->add_option("--port", a->options.port, "Port (default 8000; 0: any free port, printed at start)")->check(CLI::Range(0, 65535));
  cmd->add_option("--api-key", a->options.api_key, "Require Authorization: Bearer KEY on /v1/ routes (printable ASCII, no spaces)")
      ->check([](const std::string& key) -> std::string {
        for (unsigned char c : key)
          if (c <= 0x20 || c >= 0x7f) return "the API key must be printable ASCII without spaces (HTTP strips or mangles the rest)";
        return "";
      });
  a->engine.options.slots = 4;
  cmd->add_option("--max-concurrency", a->engine.options.slots, "Requests generating at once (sequence slots; default 4)")->check(CLI::Range(1, 4096));
  cmd->add_option("--max-queue", a->options.max_queue, "Requests waiting for a slot before 429 (default 64)")->check(CLI::Range(0, 100000));
  cmd->add_option("--shutdown-grace", a->options.shutdown_grace_seconds,
                  "Seconds running requests may take to finish after SIGTERM before they get 503 (default 30)")
      ->check(CLI::Range(0, 3600));
  cmd->add_option("--max-connections", a->options.max_connections,
                  "Open HTTP connections served at once, slow ones included (default 256)")->check(CLI::Range(1, 100000));
  cmd->add_option("--max-prompt-tokens", a->options.max_prompt_tokens, "Longest prompt (default: the context)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-tokens", a->options.max_tokens, "Most tokens one request may generate (default: the context)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--default-max-tokens", a->options.default_max_tokens,
                  "Tokens generated for a request without max_tokens (0: as many as fit)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", a->options.max_body_bytes, "Largest request body, chunked uploads included; larger gets 413 (default 1 MiB)")
      ->check(CLI::Range(size_t{1}, size_t{1} << 30));
  cmd->add_option("--chat-format", a->chat_format, "A built-in chat format instead of the model's template: llama3, chatml or llama2");
  add_engine_options(cmd, a->engine, /*act_quant=*/false);
  cmd->callback([a] { run_serve(*a); });
}

}  // namespace hifp8::cli
