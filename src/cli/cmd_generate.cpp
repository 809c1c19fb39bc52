// hifp8 generate / hifp8 logits: run a checkpoint on the CPU or (--device cuda) the GPU.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "hifp8/error.h"
#include "hifp8/io/checkpoint.h"
#include "hifp8/model/chat_template.h"
#include "hifp8/model/detokenizer.h"
#include "hifp8/model/generate.h"
#include "hifp8/model/model.h"
#include "hifp8/model/sampler.h"
#include "hifp8/model/tokenizer.h"

namespace hifp8::cli {
namespace {

struct RunArgs {
  std::string model, prompt, tokens, system, chat_format, chat_template_kwargs;
  EngineArgs engine;
  int64_t max_tokens = 64;
  model::SamplingOptions sampling;
  bool print_ids = false, json = false, stats = false, chat = false;
};


void run_logits(const RunArgs& a) {
  const std::vector<int32_t> ids = parse_token_ids(a.tokens, "--tokens");
  LoadedEngine e = load_engine(a.model, a.engine, int64_t(ids.size()));
  const std::vector<float> logits = e.engine->prefill(0, ids, true);
  const auto vocab = size_t(e.engine->vocab());
  if (a.json) {
    std::string out = "{\"logits\": [";
    char buf[32];
    for (size_t t = 0; t < ids.size(); ++t) {
      out += t ? ", [" : "[";
      for (size_t i = 0; i < vocab; ++i) {
        std::snprintf(buf, sizeof buf, i ? ", %.9g" : "%.9g", logits[t * vocab + i]);
        out += buf;
      }
      out += "]";
    }
    std::printf("%s]}\n", out.c_str());
    return;
  }
  for (size_t t = 0; t < ids.size(); ++t) {
    const float* row = &logits[t * vocab];
    const size_t best = size_t(std::max_element(row, row + vocab) - row);
    std::printf("position %zu token %d: argmax %zu (logit %.6g)\n", t, ids[t], best, row[best]);
  }
}

void run_generate(const RunArgs& a) {
  if (a.prompt.empty() == a.tokens.empty()) throw Error("give exactly one of --prompt and --tokens");
  std::unique_ptr<model::Tokenizer> tok;
  std::vector<int32_t> prompt;
  if (!a.prompt.empty()) {
    tok = model::Tokenizer::load(a.model);
    if (a.chat) {
      nlohmann::ordered_json messages = nlohmann::ordered_json::array();
      if (!a.system.empty()) messages.push_back({{"role", "system"}, {"content", a.system}});
      messages.push_back({{"role", "user"}, {"content", a.prompt}});
      model::ChatOptions options;
      if (!a.chat_template_kwargs.empty()) {
        options.variables = nlohmann::ordered_json::parse(a.chat_template_kwargs, nullptr, false);
        if (!options.variables.is_object()) throw Error("--chat-template-kwargs must be a JSON object");
      }
      prompt = tok->encode(model::ChatTemplate::load(a.model, a.chat_format).render(messages, options), false);
    } else {
      prompt = tok->encode(a.prompt);
    }
  } else {
    prompt = parse_token_ids(a.tokens, "--tokens");
    if (!a.print_ids) {
      try {
        tok = model::Tokenizer::load(a.model);
      } catch (const Error&) {
        throw Error("the model has no tokenizer: use --print-ids to see the generated token ids");
      }
    }
  }
  LoadedEngine e = load_engine(a.model, a.engine, int64_t(prompt.size()) + a.max_tokens);
  model::GenerateOptions g;
  g.max_tokens = a.max_tokens;
  g.sampling = a.sampling;
  g.eos = e.model->config().eos_tokens;
  if (tok)
    for (int32_t e : tok->eos_ids()) g.eos.push_back(e);
  std::vector<int32_t> generated;
  std::optional<model::Detokenizer> text_out;
  if (tok) text_out.emplace(*tok, prompt);
  model::GenerateTiming timing;
  const auto on_token = [&](int32_t next) {
    generated.push_back(next);
    if (a.print_ids) {
      std::printf(generated.size() > 1 ? " %d" : "%d", next);
    } else {
      std::fputs(text_out->push(next).c_str(), stdout);  // whole characters, as they settle
    }
    std::fflush(stdout);
  };
  model::generate(*e.engine, prompt, g, on_token, &timing);
  if (text_out) std::fputs(text_out->finish().c_str(), stdout);
  std::printf("\n");
  std::fflush(stdout);
  if (int64_t(generated.size()) < a.max_tokens && int64_t(prompt.size() + generated.size()) >= e.engine->context())
    std::fprintf(stderr, "hifp8 generate: stopped at the context limit (%lld positions) after %zu tokens; "
                 "--max-context raises it up to the model's\n", static_cast<long long>(e.engine->context()), generated.size());
  if (a.stats) {
    const double prefill = timing.prefill_seconds, decode = timing.decode_seconds;
    std::fprintf(stderr, "prompt %zu tokens in %.3f s (%.1f tok/s); generated %zu tokens in %.3f s (%.2f tok/s)\n",
                 prompt.size(), prefill, double(prompt.size()) / prefill, generated.size(), decode,
                 generated.size() > 1 ? double(generated.size() - 1) / decode : 0.0);
  }
}

void add_model_options(CLI::App* cmd, RunArgs& a) {
  cmd->add_option("--model", a.model, "Model directory (any checkpoint hifp8 quantize reads or writes)")->required();
  add_engine_options(cmd, a.engine);
}

}  // namespace

void add_generate_commands(CLI::App& app) {
  auto g = std::make_shared<RunArgs>();
  CLI::App* gen = app.add_subcommand("generate", "Generate text (or token ids) with a model on the CPU or GPU");
  add_model_options(gen, *g);
  gen->add_option("--prompt", g->prompt, "Prompt text (needs the model's tokenizer)");
  gen->add_option("--tokens", g->tokens, "Prompt token ids, comma-separated");
  gen->add_option("--max-tokens", g->max_tokens, "Tokens to generate (default 64; the KV cache's end stops it sooner)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  gen->add_option("--temperature", g->sampling.temperature, "0: greedy (default)");
  gen->add_option("--top-k", g->sampling.top_k, "Sample among the k most likely (0: all)");
  gen->add_option("--top-p", g->sampling.top_p, "Nucleus sampling mass (default 1)");
  gen->add_option("--seed", g->sampling.seed, "Sampling seed");
  gen->add_flag("--print-ids", g->print_ids, "Print the generated token ids instead of text");
  gen->add_flag("--chat", g->chat, "Wrap --prompt as a user message in the model's chat format");
  gen->add_option("--system", g->system, "With --chat: a system message first");
  gen->add_option("--chat-format", g->chat_format, "With --chat: a built-in format instead of the model's template: llama3, chatml or llama2");
  gen->add_option("--chat-template-kwargs", g->chat_template_kwargs, "With --chat: template variables as a JSON object, e.g. '{\"enable_thinking\": false}'");
  gen->add_flag("--stats", g->stats, "Timing on stderr: prefill and decode tokens/s");
  gen->callback([g] { run_generate(*g); });

  auto l = std::make_shared<RunArgs>();
  CLI::App* lg = app.add_subcommand("logits", "Logits of every position, for checks against other implementations");
  add_model_options(lg, *l);
  lg->add_option("--tokens", l->tokens, "Token ids, comma-separated")->required();
  lg->add_flag("--json", l->json, "{\"logits\": [[...], ...]}");
  lg->callback([l] { run_logits(*l); });
}

}  // namespace hifp8::cli
