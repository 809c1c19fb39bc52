#pragma once
// `hifp8 serve`: an OpenAI-compatible HTTP server (cpp-httplib) over an engine with sequence slots.
// A scheduler thread runs every admitted request's decode step together (iteration-level batching:
// a request joins or leaves between steps); requests beyond the slots wait in a bounded queue, and a
// full queue answers 429. A client that disconnects cancels its request. stop() stops admitting
// (503), lets running requests finish (or cancels them after a grace period) and closes the listener.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hifp8/model/chat_template.h"
#include "hifp8/model/engine.h"
#include "hifp8/model/kv_cache.h"
#include "hifp8/model/model.h"
#include "hifp8/model/tokenizer.h"

namespace hifp8::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;  // 0: any free port (printed at start)
  std::string served_model_name;
  std::string api_key;            // empty: no authentication
  int max_queue = 64;             // requests waiting for a slot; more get 429
  int64_t max_prompt_tokens = 0;  // 0: the context
  int64_t max_tokens = 0;         // per request; 0: the context
  int64_t default_max_tokens = 16;  // for a request without max_tokens (OpenAI's default); 0: as many as fit
  size_t max_body_bytes = size_t{1} << 20;
  int max_connections = 256;      // connections handled at once (threads); slow clients cannot take them all
  int read_timeout_seconds = 5;   // a client silent for this long mid-request is dropped
  int shutdown_grace_seconds = 30;
};

class Server {
 public:
  // tokenizer may be null (token-id prompts only; completions are then returned as token ids).
  // chat_template empty: /v1/chat/completions answers 400.
  Server(ServerOptions options, std::unique_ptr<model::Engine> engine, std::unique_ptr<model::Tokenizer> tokenizer,
         std::optional<model::ChatTemplate> chat_template, std::vector<int64_t> eos);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and serves until stop(); throws Error if the address cannot be bound.
  void run();
  // Graceful: from any thread (a signal-watching one).
  void stop();
  int port() const;  // the bound port, once run() has bound it

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hifp8::serve
