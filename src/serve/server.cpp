#include "hifp8/serve/server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>

#include "hifp8/error.h"
#include "hifp8/model/detokenizer.h"
#include "hifp8/model/utf8.h"
#include "hifp8/model/sampler.h"
#include "hifp8/serve/openai_api.h"

namespace hifp8::serve {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// One request: written by the scheduler, read by the HTTP handler that waits on it.
struct Job {
  std::string id;  // the response's id (one per request; its prompts' jobs share it)
  Clock::time_point submitted = Clock::now();
  GenerationRequest request;
  std::vector<int32_t> prompt;
  int64_t max_new = 0;
  std::atomic<bool> cancelled{false};

  std::mutex lock;
  std::condition_variable changed;
  std::deque<std::string> pieces;  // text not yet taken by the handler
  std::string text;                // everything emitted
  bool finished = false;
  std::string finish_reason;
  ApiError error{0, "", "", "", ""};  // status 0: none (guarded by lock)
  Usage usage;

  // Scheduler-only state.
  int slot = -1;
  std::unique_ptr<model::Sampler> sampler;
  std::vector<int32_t> generated;
  std::unique_ptr<model::Detokenizer> detokenizer;  // null without a tokenizer
  std::string full;    // the continuation's settled text
  size_t emitted = 0;  // bytes of `full` already emitted
  std::vector<TokenLogprob> logprobs;  // request.logprobs: the prompt's (echo) and the generated tokens'

  void emit(const std::string& piece) {
    const std::lock_guard<std::mutex> g(lock);
    text += piece;
    pieces.push_back(piece);
    changed.notify_all();
  }
  // Ends the job; one log line a job on stderr: id, tokens, time, how it ended.
  void finish(const std::string& reason) {
    const std::lock_guard<std::mutex> g(lock);
    finished = true;
    finish_reason = reason;
    usage.completion_tokens = int64_t(generated.size());
    const double seconds = std::chrono::duration<double>(Clock::now() - submitted).count();
    std::fprintf(stderr, "hifp8 serve: %s prompt %lld + completion %lld tokens, %.3f s, %s%s\n", id.c_str(),
                 static_cast<long long>(prompt.size()), static_cast<long long>(generated.size()), seconds,
                 reason.c_str(), error.status ? (" (" + std::to_string(error.status) + ")").c_str() : "");
    changed.notify_all();  // after the log line: a client that has its answer finds it logged
  }
};

std::string random_id(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  const uint64_t t = uint64_t(Clock::now().time_since_epoch().count());
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s-%llx%04llx", prefix, static_cast<unsigned long long>(t & 0xffffffffffffull),
                static_cast<unsigned long long>(counter++ & 0xffff));
  return buf;
}

int64_t unix_time() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Every JSON body leaves through here: strings are valid UTF-8 by construction (tokenizer decode,
// parsed requests), and should one not be, it is sent with U+FFFD rather than throwing on a server thread.
std::string wire(const json& body) { return body.dump(-1, ' ', false, json::error_handler_t::replace); }

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(wire(e.to_json()), "application/json");
}

// The socket of the connection a request came on. cpp-httplib 0.11 does not expose it to handlers, so
// it is found by the peer address among this process's sockets (once per non-streaming request).
int peer_socket(const httplib::Request& req) {
  DIR* fds = ::opendir("/proc/self/fd");
  if (!fds) return -1;
  int found = -1;
  while (const dirent* e = ::readdir(fds)) {
    const int fd = std::atoi(e->d_name);
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    if (fd <= 2 || ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) continue;
    char host[INET6_ADDRSTRLEN] = "";
    int port = 0;
    if (peer.ss_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(&peer);
      ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host), port = ntohs(in->sin_port);
    } else if (peer.ss_family == AF_INET6) {
      const auto* in = reinterpret_cast<const sockaddr_in6*>(&peer);
      ::inet_ntop(AF_INET6, &in->sin6_addr, host, sizeof host), port = ntohs(in->sin6_port);
    }
    if (port == req.remote_port && req.remote_addr == host) {
      found = fd;
      break;
    }
  }
  ::closedir(fds);
  return found;
}

// The client closed its end (an orderly close reads as 0 bytes; a reset as an error).
bool peer_closed(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) return true;
  char byte;
  return ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

}  // namespace

struct Server::Impl {
  ServerOptions options;
  std::unique_ptr<model::Engine> engine;
  std::unique_ptr<model::Tokenizer> tokenizer;
  size_t longest_token = 1;  // the tokenizer's longest_token_bytes()
  std::optional<model::ChatTemplate> chat_template;
  std::vector<int64_t> eos;
  httplib::Server http;
  int64_t created = unix_time();

  std::mutex lock;  // guards queue, active, stopping, the counters
  std::condition_variable wake;
  std::deque<std::shared_ptr<Job>> queue;
  std::vector<std::shared_ptr<Job>> active;
  bool stopping = false, scheduler_done = false;
  uint64_t completed = 0, cancelled = 0;  // requests that left a slot, by how (reported by /health)
  std::thread scheduler;
  std::atomic<int> bound_port{0};

  // ---- scheduler ----------------------------------------------------------------------------------

  // A token as the log-probs objects spell it: its text alone (or its id without a tokenizer).
  std::string token_text(int32_t id) const {
    return tokenizer ? tokenizer->decode(std::span<const int32_t>(&id, 1), false) : std::to_string(id);
  }

  // The log-prob of `token` under `logits` (a log-softmax of the raw logits, before temperature, as
  // vLLM reports them) and the `top` likeliest alternatives.
  TokenLogprob score(int32_t token, std::span<const float> logits, int top) const {
    const float max = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (float v : logits) sum += std::exp(double(v - max));
    const auto log_z = float(double(max) + std::log(sum));
    TokenLogprob t{token_text(token), logits[size_t(token)] - log_z, {}};
    std::vector<int32_t> order(logits.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = int32_t(i);
    const auto k = std::min<size_t>(size_t(top), order.size());
    std::partial_sort(order.begin(), order.begin() + long(k), order.end(),
                      [&](int32_t a, int32_t b) { return logits[size_t(a)] > logits[size_t(b)] || (logits[size_t(a)] == logits[size_t(b)] && a < b); });
    for (size_t i = 0; i < k; ++i) t.top.emplace_back(token_text(order[i]), logits[size_t(order[i])] - log_z);
    return t;
  }

  // Prefill; with echo and log-probs every prompt token is scored by the position before it.
  void start(Job& job) {
    const bool score_prompt = job.request.echo && job.request.logprobs;
    const std::vector<float> logits = engine->prefill(job.slot, job.prompt, score_prompt);
    const auto vocab = size_t(engine->vocab());
    const std::span<const float> last = std::span<const float>(logits).last(vocab);
    if (score_prompt) {
      job.logprobs.push_back({token_text(job.prompt[0]), std::nullopt, {}});
      for (size_t i = 1; i < job.prompt.size(); ++i)
        job.logprobs.push_back(score(job.prompt[i], std::span<const float>(logits).subspan((i - 1) * vocab, vocab), *job.request.logprobs));
    }
    if (job.max_new == 0) return job.finish("length");  // echo with max_tokens 0: the prompt scored, nothing generated
    handle_token(job, job.sampler->next(last), last);
  }

  // The continuation's new text (or, without a tokenizer, " <id>" per token) in whole characters
  // (model::Detokenizer), held back while it could still be the start of a stop string.
  void handle_token(Job& job, int32_t token, std::span<const float> logits) {
    const bool eos_token = std::find(eos.begin(), eos.end(), token) != eos.end();
    if (!eos_token) job.generated.push_back(token);
    // The EOS token is scored too (its text is not sent): lm-eval-harness drops the last entry of an
    // echo request's log-probs as the generated token, whatever it was.
    if (job.request.logprobs) job.logprobs.push_back(score(token, logits, *job.request.logprobs));
    const bool length = !eos_token && (int64_t(job.generated.size()) >= job.max_new ||
                                       int64_t(job.prompt.size() + job.generated.size()) >= engine->context());
    if (!job.detokenizer) {
      if (!eos_token) job.full += " " + std::to_string(token);
    } else {
      if (!eos_token) job.full += job.detokenizer->push(token);
      if (eos_token || length) job.full += job.detokenizer->finish();
    }
    const std::string& full = job.full;
    const size_t stop_at = find_stop(full, job.request.stop);
    if (stop_at != std::string::npos) {
      if (stop_at > job.emitted) job.emit(full.substr(job.emitted, stop_at - job.emitted));
      return job.finish("stop");
    }
    size_t hold = 0;  // a partial stop string at the end stays back (it starts on a character boundary)
    if (!eos_token && !length)
      for (const std::string& s : job.request.stop)
        for (size_t k = std::min(s.size() - 1, full.size()); k > hold; --k)
          if (full.compare(full.size() - k, k, s, 0, k) == 0) hold = k;
    if (full.size() - hold > job.emitted) {
      job.emit(full.substr(job.emitted, full.size() - hold - job.emitted));
      job.emitted = full.size() - hold;
    }
    if (eos_token) job.finish("stop");
    else if (length) job.finish("length");
  }

  // Stopping: a request that cannot finish gets 503 (not a 200 with an empty "cancelled" text).
  void cancel_for_shutdown(Job& job) {
    {
      const std::lock_guard<std::mutex> g(job.lock);
      if (!job.error.status) job.error = {503, "server_error", "the server is shutting down", "", ""};
    }
    job.cancelled = true;
  }

  void fail(Job& job, const std::string& what) {
    {
      const std::lock_guard<std::mutex> g(job.lock);
      job.error = {500, "server_error", what, "", ""};
    }
    job.finish("error");
  }

  void run_scheduler() {
    std::vector<int> free_slots;
    for (int s = engine->slots() - 1; s >= 0; --s) free_slots.push_back(s);
    for (;;) {
      std::vector<std::shared_ptr<Job>> admitted;
      {
        std::unique_lock<std::mutex> g(lock);
        wake.wait(g, [&] { return !queue.empty() || !active.empty() || (stopping && queue.empty() && active.empty()); });
        if (stopping && queue.empty() && active.empty()) break;
        while (!queue.empty() && !free_slots.empty()) {
          admitted.push_back(queue.front());
          queue.pop_front();
          admitted.back()->slot = free_slots.back();
          free_slots.pop_back();
        }
      }
      for (auto& job : admitted) {
        try {
          if (!job->cancelled) start(*job);
        } catch (const std::exception& e) {
          fail(*job, e.what());
        }
        const std::lock_guard<std::mutex> g(lock);
        active.push_back(job);
      }
      // One decode step for every running request that has not finished.
      std::vector<std::shared_ptr<Job>> running;
      {
        const std::lock_guard<std::mutex> g(lock);
        running = active;
      }
      std::vector<int> slots;
      std::vector<int32_t> tokens;
      std::vector<Job*> stepping;
      for (auto& job : running) {
        if (job->finished || job->cancelled) continue;
        slots.push_back(job->slot);
        tokens.push_back(job->generated.back());
        stepping.push_back(job.get());
      }
      if (!stepping.empty()) {
        try {
          // A step without log-probs needs no logits on the host: the engine draws the tokens (the GPU
          // engine on the device, downloading one id per row instead of [rows][vocab] logits).
          const bool ids_only = std::none_of(stepping.begin(), stepping.end(), [](const Job* j) { return j->request.logprobs.has_value(); });
          if (ids_only) {
            std::vector<model::SamplingOptions> sampling;
            for (Job* job : stepping) sampling.push_back(job->sampler->next_draw());
            const std::vector<int32_t> next = engine->decode_sample(slots, tokens, sampling);
            for (size_t i = 0; i < stepping.size(); ++i) handle_token(*stepping[i], next[i], {});
          } else {
            const std::vector<float> logits = engine->decode(slots, tokens);
            const auto vocab = size_t(engine->vocab());
            for (size_t i = 0; i < stepping.size(); ++i) {
              const std::span<const float> row = std::span<const float>(logits).subspan(i * vocab, vocab);
              handle_token(*stepping[i], stepping[i]->sampler->next(row), row);
            }
          }
        } catch (const std::exception& e) {
          for (Job* job : stepping) fail(*job, e.what());
        }
      }
      const std::lock_guard<std::mutex> g(lock);
      for (auto it = active.begin(); it != active.end();) {
        Job& job = **it;
        if (job.cancelled && !job.finished) job.finish("cancelled");
        if (job.finished) {
          ++(job.finish_reason == "cancelled" ? cancelled : completed);
          free_slots.push_back(job.slot);
          it = active.erase(it);
        } else {
          ++it;
        }
      }
    }
    const std::lock_guard<std::mutex> g(lock);
    scheduler_done = true;
  }

  // ---- HTTP -----------------------------------------------------------------------------------------

  Limits limits() const {
    return {options.max_prompt_tokens, options.max_tokens, engine->context(), options.default_max_tokens};
  }

  // A text so long that even at the tokenizer's longest token per token it exceeds the prompt limit
  // is refused before the tokenizer spends time on it.
  std::optional<ApiError> too_long_to_tokenize(const GenerationRequest& request) const {
    if (!tokenizer) return std::nullopt;
    size_t bytes = 0;
    if (request.chat)
      bytes = request.message_text_bytes;
    else
      for (const Prompt& p : request.prompts)
        if (std::holds_alternative<std::string>(p)) bytes = std::max(bytes, std::get<std::string>(p).size());
    const int64_t limit = limits().prompt_limit();
    const int64_t at_least = int64_t((bytes + longest_token - 1) / longest_token);
    if (at_least <= limit) return std::nullopt;
    return ApiError::bad_request("the prompt has at least " + std::to_string(at_least) + " tokens (" + std::to_string(bytes) +
                                     " bytes); this server takes at most " + std::to_string(limit),
                                 request.chat ? "messages" : "prompt");
  }

  // Tokenizes, checks the budget and queues; an ApiError if the request cannot be taken. A
  // completions request with several prompts is submitted once per prompt (`request.prompts` holds one).
  std::variant<std::shared_ptr<Job>, ApiError> submit(GenerationRequest request, const std::string& id) {
    if (!request.model.empty() && request.model != options.served_model_name)
      return ApiError{404, "invalid_request_error", "the model '" + request.model + "' does not exist (this server has '" +
                                                         options.served_model_name + "')",
                      "model", "model_not_found"};
    auto job = std::make_shared<Job>();
    job->id = id;
    if (auto e = too_long_to_tokenize(request)) return *e;
    try {  // a conversation the chat format cannot express, or text the tokenizer refuses, is the client's
      if (request.chat) {
        if (!tokenizer)
          return ApiError::bad_request("this model has no tokenizer: chat needs one (use /v1/completions with token ids)");
        if (!chat_template)
          return ApiError::bad_request("this model has no chat template: start the server with --chat-format "
                                       "llama3|chatml|llama2, or use /v1/completions");
        model::ChatOptions chat_options;
        chat_options.tools = request.tools;
        chat_options.variables = request.chat_template_kwargs;
        job->prompt = tokenizer->encode(chat_template->render(request.messages, chat_options), false);
      } else if (std::holds_alternative<std::string>(request.prompts.at(0))) {
        if (!tokenizer) return ApiError::bad_request("this model has no tokenizer: give the prompt as token ids", "prompt");
        job->prompt = tokenizer->encode(std::get<std::string>(request.prompts[0]));
      } else {
        job->prompt = std::get<std::vector<int32_t>>(request.prompts[0]);
      }
    } catch (const Error& e) {
      return ApiError::bad_request(e.what(), request.chat ? "messages" : "prompt");
    }
    const auto budget = completion_budget(request, int64_t(job->prompt.size()), limits());
    if (std::holds_alternative<ApiError>(budget)) return std::get<ApiError>(budget);
    job->max_new = std::get<int64_t>(budget);
    try {
      job->sampler = std::make_unique<model::Sampler>(request.sampling);
    } catch (const Error& e) {
      return ApiError::bad_request(e.what());
    }
    if (tokenizer) job->detokenizer = std::make_unique<model::Detokenizer>(*tokenizer, job->prompt);
    job->usage.prompt_tokens = int64_t(job->prompt.size());
    job->request = std::move(request);
    const std::lock_guard<std::mutex> g(lock);
    if (stopping) return ApiError{503, "server_error", "the server is shutting down", "", ""};
    if (int(queue.size()) >= options.max_queue)
      return ApiError{429, "rate_limit_error", "the server is busy: " + std::to_string(queue.size()) +
                                                   " requests are waiting; retry later",
                      "", "server_busy"};
    queue.push_back(job);
    wake.notify_all();
    return job;
  }

  // One call of the SSE writer: the pieces produced since the last call, then the end of the stream.
  // False: the client is gone (the request is cancelled).
  bool stream_events(Job& job, const std::string& id, const std::string& model, bool chat, bool& first,
                     httplib::DataSink& sink) {
    std::vector<std::string> pieces;
    bool finished = false;
    ApiError error{0, "", "", "", ""};
    {
      std::unique_lock<std::mutex> g(job.lock);
      job.changed.wait_for(g, std::chrono::milliseconds(200), [&] { return !job.pieces.empty() || job.finished; });
      pieces.assign(job.pieces.begin(), job.pieces.end());
      job.pieces.clear();
      finished = job.finished;
      error = job.error;
    }
    const auto send = [&](const json& body) {
      const std::string event = "data: " + wire(body) + "\n\n";
      return sink.write(event.data(), event.size());
    };
    if (!sink.is_writable()) return (job.cancelled = true, false);
    if (chat && first && !send(completion_chunk(id, model, created, chat, "", "", true))) return (job.cancelled = true, false);
    first = false;
    for (const std::string& p : pieces)
      if (!send(completion_chunk(id, model, created, chat, p, "", false))) return (job.cancelled = true, false);
    if (!finished) return true;
    if (error.status) {
      send(error.to_json());
    } else {
      send(completion_chunk(id, model, created, chat, "", job.finish_reason, false));
      if (job.request.include_usage) {
        json usage = completion_chunk(id, model, created, chat, "", "", false);
        usage["choices"] = json::array();
        usage["usage"] = job.usage.to_json();
        send(usage);
      }
    }
    static const std::string done = "data: [DONE]\n\n";
    sink.write(done.data(), done.size());
    sink.done();
    return true;
  }

  // The choice a finished job answers with: echo puts the prompt's text first; the log-probs in the
  // endpoint's shape.
  Choice choice_of(const Job& job, const Prompt& prompt, bool chat) const {
    std::string prompt_text;
    if (job.request.echo)
      prompt_text = std::holds_alternative<std::string>(prompt) ? std::get<std::string>(prompt)
                    : tokenizer ? tokenizer->decode(job.prompt, true)
                                : [&] { std::string s; for (int32_t t : job.prompt) s += " " + std::to_string(t); return s; }();
    json logprobs = nullptr;
    if (job.request.logprobs)
      logprobs = chat ? chat_logprobs(job.logprobs) : completion_logprobs(job.logprobs, job.request.echo ? 0 : int64_t(model::utf8_length(prompt_text)));
    return {prompt_text + job.text, job.finish_reason, logprobs};
  }

  void handle_generation(const httplib::Request& req, httplib::Response& res, bool chat) {
    auto parsed = parse_generation_request(req.body, chat, engine->vocab());
    if (std::holds_alternative<ApiError>(parsed)) return send_error(res, std::get<ApiError>(parsed));
    GenerationRequest request = std::move(std::get<GenerationRequest>(parsed));
    const std::vector<Prompt> prompts = request.prompts;
    std::vector<std::shared_ptr<Job>> jobs;
    const std::string id = random_id(chat ? "chatcmpl" : "cmpl");
    for (size_t i = 0; i < std::max<size_t>(prompts.size(), 1); ++i) {
      GenerationRequest one = request;
      if (!prompts.empty()) one.prompts = {prompts[i]};
      auto submitted = submit(std::move(one), id);
      if (std::holds_alternative<ApiError>(submitted)) {
        for (auto& j : jobs) j->cancelled = true;
        return send_error(res, std::get<ApiError>(submitted));
      }
      jobs.push_back(std::get<std::shared_ptr<Job>>(submitted));
    }
    std::shared_ptr<Job> job = jobs.front();
    const std::string model = options.served_model_name;
    if (!job->request.stream) {
      // The client may go away while it waits: look between decode steps, as the stream writer does.
      const int socket = peer_socket(req);
      std::vector<Choice> choices;
      Usage usage;
      for (size_t i = 0; i < jobs.size(); ++i) {
        Job& j = *jobs[i];
        std::unique_lock<std::mutex> g(j.lock);
        while (!j.changed.wait_for(g, std::chrono::milliseconds(100), [&] { return j.finished; }))
          if (socket >= 0 && peer_closed(socket))
            for (auto& other : jobs) other->cancelled = true;
        if (j.error.status) {
          for (auto& other : jobs) other->cancelled = true;
          return send_error(res, j.error);
        }
        choices.push_back(choice_of(j, prompts.empty() ? Prompt{} : prompts[i], chat));
        usage.prompt_tokens += j.usage.prompt_tokens;
        usage.completion_tokens += j.usage.completion_tokens;
      }
      res.set_content(wire(completion_response(id, model, created, chat, choices, usage)), "application/json");
      return;
    }
    auto first = std::make_shared<bool>(true);
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, job, id, model, chat, first](size_t, httplib::DataSink& sink) {
          // httplib calls this on its worker thread: nothing may escape it (std::terminate).
          try {
            return stream_events(*job, id, model, chat, *first, sink);
          } catch (const std::exception& e) {
            job->cancelled = true;
            const std::string event = "data: " + wire(ApiError{500, "server_error", e.what(), "", ""}.to_json()) +
                                      "\n\ndata: [DONE]\n\n";
            sink.write(event.data(), event.size());
            sink.done();
            return true;
          }
        },
        [job](bool) {
          if (!job->finished) job->cancelled = true;  // the client went away
        });
  }

  // The body, bounded by max_body_bytes however it is sent (httplib checks Content-Length but not
  // chunked uploads); false after answering 413.
  bool read_body(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
    std::string& body = const_cast<httplib::Request&>(req).body;
    bool too_large = false;
    const bool read = reader([&](const char* data, size_t size) {
      if (body.size() + size > options.max_body_bytes) return !(too_large = true);
      body.append(data, size);
      return true;
    });
    // httplib refuses a Content-Length over the limit itself, before any byte reaches the receiver.
    too_large = too_large || (!read && std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10) > options.max_body_bytes);
    if (read && !too_large) return true;
    if (!too_large) {
      send_error(res, ApiError::bad_request("the request body could not be read"));
      return false;
    }
    res.set_header("Connection", "close");
    send_error(res, {413, "invalid_request_error", "the request body is larger than " + std::to_string(options.max_body_bytes) + " bytes", "", ""});
    return false;
  }

  // "Bearer KEY" exactly, compared in time independent of where it differs.
  bool key_matches(const std::string& header) const {
    const std::string expected = "Bearer " + options.api_key;
    unsigned diff = header.size() != expected.size();
    for (size_t i = 0; i < expected.size(); ++i) diff |= unsigned(char(i < header.size() ? header[i] : 0) ^ expected[i]);
    return diff == 0;
  }

  void install_routes() {
    http.set_payload_max_length(options.max_body_bytes);
    http.set_read_timeout(options.read_timeout_seconds, 0);
    // One thread per open connection: sized so that slow clients holding connections (each dropped after
    // read_timeout_seconds of silence) leave room for the rest; the work itself is bounded by the queue.
    http.new_task_queue = [this] { return new httplib::ThreadPool(size_t(options.max_connections)); };
    http.set_keep_alive_timeout(options.read_timeout_seconds);
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (options.api_key.empty() || req.path.rfind("/v1/", 0) != 0) return httplib::Server::HandlerResponse::Unhandled;
      if (req.get_header_value_count("Authorization") == 1 && key_matches(req.get_header_value("Authorization")))
        return httplib::Server::HandlerResponse::Unhandled;
      send_error(res, {401, "authentication_error", "missing or wrong API key (Authorization: Bearer ...)", "",
                       "invalid_api_key"});
      return httplib::Server::HandlerResponse::Handled;
    });
    http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 413) send_error(res, {413, "invalid_request_error", "the request body is too large", "", ""});
      else if (res.status == 404) send_error(res, {404, "invalid_request_error", "no such endpoint", "", "not_found"});
      else send_error(res, {res.status, "invalid_request_error", "bad request", "", ""});
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr e) {
      std::string what = "internal error";
      try {
        if (e) std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        what = ex.what();
      }
      send_error(res, {500, "server_error", what, "", ""});
    });
    http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      const std::lock_guard<std::mutex> g(lock);
      res.status = stopping ? 503 : 200;
      res.set_content(wire(json{{"status", stopping ? "stopping" : "ok"}, {"running", active.size()}, {"waiting", queue.size()},
                                {"completed", completed}, {"cancelled", cancelled}}),
                      "application/json");
    });
    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(wire(models_response(options.served_model_name, created)), "application/json");
    });
    for (const bool chat : {false, true})
      http.Post(chat ? "/v1/chat/completions" : "/v1/completions",
                [this, chat](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
                  if (read_body(req, res, reader)) handle_generation(req, res, chat);
                });
  }
};

Server::Server(ServerOptions options, std::unique_ptr<model::Engine> engine, std::unique_ptr<model::Tokenizer> tokenizer,
               std::optional<model::ChatTemplate> chat_template, std::vector<int64_t> eos)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->engine = std::move(engine);
  impl_->tokenizer = std::move(tokenizer);
  if (impl_->tokenizer) impl_->longest_token = impl_->tokenizer->longest_token_bytes();
  impl_->chat_template = std::move(chat_template);
  impl_->eos = std::move(eos);
  impl_->install_routes();
}

Server::~Server() {
  stop();
  if (impl_->scheduler.joinable()) impl_->scheduler.join();
}

void Server::run() {
  Impl& m = *impl_;
  const int port = m.options.port == 0 ? m.http.bind_to_any_port(m.options.host) : m.options.port;
  if (m.options.port != 0 && !m.http.bind_to_port(m.options.host, port))
    throw Error("cannot listen on " + m.options.host + ":" + std::to_string(port));
  if (port <= 0) throw Error("cannot listen on " + m.options.host);
  m.bound_port = port;
  m.scheduler = std::thread([&m] { m.run_scheduler(); });
  std::fprintf(stderr, "hifp8 serve: %s on http://%s:%d (%d slots, context %lld)\n", m.options.served_model_name.c_str(),
               m.options.host.c_str(), port, m.engine->slots(), static_cast<long long>(m.engine->context()));
  m.http.listen_after_bind();
  m.scheduler.join();
}

void Server::stop() {
  Impl& m = *impl_;
  {
    const std::lock_guard<std::mutex> g(m.lock);
    if (m.stopping) return;
    m.stopping = true;
    m.wake.notify_all();
  }
  // Running requests finish within the grace period, else they are cancelled.
  const auto deadline = Clock::now() + std::chrono::seconds(m.options.shutdown_grace_seconds);
  for (;;) {
    {
      const std::lock_guard<std::mutex> g(m.lock);
      if (m.scheduler_done || (m.queue.empty() && m.active.empty())) break;
      if (Clock::now() > deadline) {
        for (auto& j : m.queue) m.cancel_for_shutdown(*j);
        for (auto& j : m.active) m.cancel_for_shutdown(*j);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  m.http.stop();
}

int Server::port() const { return impl_->bound_port; }

}  // namespace hifp8::serve
