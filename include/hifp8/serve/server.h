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
#include "hifp8/model/kv_cache.h"
#include "hifp8/model/model.h"
#include "hifp8/model/tokenizer.h"

namespace hifp8::serve {

// What the scheduler drives: `slots()` sequences, each prefilled once and then decoded a token at a time.
class Engine {
 public:
  virtual ~Engine() = default;
  virtual int slots() const = 0;
  virtual int64_t context() const = 0;  // positions per sequence
  virtual int64_t vocab() const = 0;
  // Logits of the last prompt position, or of every position when all_positions ([prompt][vocab]);
  // the slot is emptied first.
  virtual std::vector<float> prefill(int slot, const std::vector<int32_t>& prompt, bool all_positions = false) = 0;
  // One token for each slot in `slots`; logits [slots.size()][vocab].
  virtual std::vector<float> decode(const std::vector<int>& slots, const std::vector<int32_t>& tokens) = 0;
};

// The CPU engine with one KV cache per slot (decode steps run slot by slot).
std::unique_ptr<Engine> cpu_engine(const model::Model& model, model::KvDType kv, int slots, int64_t context);

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;  // 0: any free port (printed at start)
  std::string served_model_name;
  std::string api_key;            // empty: no authentication
  int max_queue = 64;             // requests waiting for a slot; more get 429
  int64_t max_prompt_tokens = 0;  // 0: the context
  int64_t max_tokens = 0;         // per request; 0: the context
  size_t max_body_bytes = size_t{1} << 20;
  int max_connections = 256;      // connections handled at once (threads); slow clients cannot take them all
  int read_timeout_seconds = 5;   // a client silent for this long mid-request is dropped
  int shutdown_grace_seconds = 30;
};

class Server {
 public:
  // tokenizer may be null (token-id prompts only; completions are then returned as token ids).
  // chat_template empty: /v1/chat/completions answers 400.
  Server(ServerOptions options, std::unique_ptr<Engine> engine, std::unique_ptr<model::Tokenizer> tokenizer,
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
