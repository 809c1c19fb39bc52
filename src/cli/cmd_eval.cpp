// hifp8 eval ppl | mc | diff-generate: what quantization did to a model, measured.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "cli/commands.h"
#include "cli/progress.h"
#include "hifp8/error.h"
#include "hifp8/eval/compare.h"
#include "hifp8/eval/benchmark_items.h"
#include "hifp8/eval/layer_compare.h"
#include "hifp8/eval/multiple_choice.h"
#include "hifp8/eval/perplexity.h"
#include "hifp8/model/generate.h"
#include "hifp8/model/model.h"
#include "hifp8/model/tokenizer.h"

namespace hifp8::cli {
namespace {

struct EvalArgs {
  std::string model, baseline, text, tokens_file, tasks, prompts, out;
  EngineArgs engine;  // --device (ppl, compare), --kv-cache-dtype, --act-quant, --threads
  std::string format = "auto", fewshot_file;  // eval mc
  size_t fewshot = 0;
  std::vector<std::string> models;
  int64_t ctx = 512, stride = 256, max_tokens = 32;
  bool json = false, quiet = false;
};

// An engine for perplexity windows of --ctx tokens on --device; the baseline's keeps the default
// (unquantized: f32 on the CPU, bf16 on the GPU) KV cache and float activations.
LoadedEngine window_engine(const std::string& dir, const EvalArgs& a, bool baseline) {
  EngineArgs e = a.engine;
  if (e.options.max_context == 0) e.options.max_context = a.ctx;
  if (baseline) e.options.kv_cache_dtype.clear(), e.act_quant = "none";
  return load_engine(dir, e);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<eval::Document> documents(const EvalArgs& a, const std::string& tokenizer_dir) {
  if (a.text.empty() == a.tokens_file.empty()) throw Error("give exactly one of --text and --tokens-file");
  if (!a.text.empty()) return {model::Tokenizer::load(tokenizer_dir)->encode(read_text(a.text))};
  return io::read_token_file(a.tokens_file);
}

eval::PerplexityResult measure(model::Engine& m, model::Engine* base, const std::vector<eval::Document>& docs,
                               const EvalArgs& a, const std::string& label) {
  eval::PerplexityOptions o;
  o.ctx = a.ctx, o.stride = a.stride;
  ProgressBar bar(label, ProgressBar::Unit::tokens);
  if (!a.quiet) o.progress = [&](size_t done, size_t total) { bar.update(done, total, "scored", ""); };
  const eval::PerplexityResult r = eval::perplexity(m, docs, o, base);
  bar.finish();
  return r;
}

void run_ppl(const EvalArgs& a) {
  const std::vector<eval::Document> docs = documents(a, a.model);
  LoadedEngine m = window_engine(a.model, a, false), base;
  if (!a.baseline.empty()) base = window_engine(a.baseline, a, true);
  const auto t0 = std::chrono::steady_clock::now();
  const eval::PerplexityResult r = measure(*m.engine, base.engine.get(), docs, a, "ppl");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  nlohmann::json j = {{"model", a.model}, {"device", a.engine.options.device}, {"tokens", r.tokens}, {"ctx", a.ctx}, {"stride", a.stride},
                      {"mean_nll", r.mean_nll}, {"ppl", r.ppl}, {"seconds", seconds}, {"tokens_per_s", double(r.tokens) / seconds}};
  if (base.engine) {
    j["baseline"] = a.baseline;
    j["baseline_ppl"] = *r.baseline_ppl;
    j["delta_ppl"] = r.ppl - *r.baseline_ppl;
    j["mean_kl"] = *r.mean_kl;
    j["max_kl"] = *r.max_kl;
    j["top1_agreement_pct"] = 100.0 * *r.top1_agreement;
  }
  if (a.json) {
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("tokens %zu  ppl %.4f  mean_nll %.6f  (%.1f s, %.0f scored tokens/s, models loaded before)\n", r.tokens, r.ppl,
              r.mean_nll, seconds, double(r.tokens) / seconds);
  if (base.engine)
    std::printf("baseline ppl %.4f  delta_ppl %+.4f  mean KL %.6f  max KL %.4f  top-1 agreement %.2f %%\n", *r.baseline_ppl,
                r.ppl - *r.baseline_ppl, *r.mean_kl, *r.max_kl, 100.0 * *r.top1_agreement);
}

void run_compare(const EvalArgs& a) {
  const std::vector<eval::Document> docs = documents(a, a.baseline);
  LoadedEngine base = window_engine(a.baseline, a, true);
  std::vector<eval::ModelComparison> results;
  for (const std::string& dir : a.models) {
    LoadedEngine m = window_engine(dir, a, false);
    const std::string name = std::filesystem::path(dir).filename().string();
    results.push_back({name, measure(*m.engine, base.engine.get(), docs, a, name), eval::weight_sqnr(dir, a.baseline)});
  }
  eval::write_comparison(a.out, a.baseline, results);
  std::fputs(read_text((std::filesystem::path(a.out) / "compare.md").string()).c_str(), stdout);
}

void run_mc(const EvalArgs& a) {
  LoadedEngine m = load_engine(a.model, a.engine);
  const auto tok = model::Tokenizer::load(a.model);
  std::vector<eval::ChoiceItem> items = eval::read_benchmark_items(a.tasks, a.format);
  if (a.fewshot > 0)
    items = eval::with_fewshot(items, a.fewshot_file.empty() ? items : eval::read_benchmark_items(a.fewshot_file, a.format), a.fewshot);
  const eval::ChoiceResult r = eval::multiple_choice(*m.engine, *tok, items);
  if (a.json) {
    std::printf("%s\n", nlohmann::json{{"model", a.model}, {"items", r.items}, {"acc", r.acc}, {"acc_norm", r.acc_norm},
                                      {"loglik", r.loglik}}.dump(2).c_str());
    return;
  }
  std::printf("items %zu  acc %.4f  acc_norm %.4f\n", r.items, r.acc, r.acc_norm);
}

void run_layers(const EvalArgs& a) {
  if (a.text.empty() == a.tokens_file.empty()) throw Error("give exactly one of --text and --tokens-file");
  std::vector<int32_t> tokens;
  if (!a.text.empty()) tokens = model::Tokenizer::load(a.baseline)->encode(read_text(a.text));
  else tokens = io::read_token_file(a.tokens_file).front();
  if (int64_t(tokens.size()) > a.ctx) tokens.resize(size_t(a.ctx));
  eval::LayerCompareOptions o;
  o.engine = a.engine.options;
  const eval::LayerReport r = eval::compare_layers(a.model, a.baseline, tokens, o);
  std::printf("%s", a.json ? (r.to_json().dump(2) + "\n").c_str() : r.to_text().c_str());
}

// Table cells: one line, pipes escaped.
std::string cell(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '\n' ? std::string("\\n") : c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

void run_diff_generate(const EvalArgs& a) {
  // The baseline runs with float activations and the default (unquantized) KV cache.
  EngineArgs base_args = a.engine;
  base_args.options.kv_cache_dtype.clear(), base_args.act_quant = "none";
  LoadedEngine base = load_engine(a.baseline, base_args), m = load_engine(a.model, a.engine);
  const auto tok = model::Tokenizer::load(a.model);
  std::ifstream in(a.prompts);
  if (!in) throw Error("cannot read " + a.prompts);
  model::GenerateOptions g;
  g.max_tokens = a.max_tokens;
  g.eos = m.engine->config().eos_tokens;
  for (int32_t e : tok->eos_ids()) g.eos.push_back(e);
  std::string prompt;
  size_t same = 0, total = 0;
  nlohmann::json rows = nlohmann::json::array();
  if (!a.json)
    std::printf("| prompt | %s | %s | first difference |\n|---|---|---|---:|\n", cell(a.baseline).c_str(), cell(a.model).c_str());
  while (std::getline(in, prompt)) {
    if (prompt.empty()) continue;
    const std::vector<int32_t> ids = tok->encode(prompt);
    const std::vector<int32_t> x = model::generate(*base.engine, ids, g), y = model::generate(*m.engine, ids, g);
    size_t d = 0;
    while (d < x.size() && d < y.size() && x[d] == y[d]) ++d;
    const bool identical = d == x.size() && d == y.size();
    same += identical, ++total;
    const std::string base_text = tok->decode(x, true), model_text = tok->decode(y, true);
    if (a.json)
      rows.push_back({{"prompt", prompt}, {"baseline_text", base_text}, {"model_text", model_text},
                      {"baseline_tokens", x}, {"model_tokens", y},
                      {"first_difference", identical ? nlohmann::json(nullptr) : nlohmann::json(d)}});
    else
      std::printf("| %s | %s | %s | %s |\n", cell(prompt).c_str(), cell(base_text).c_str(), cell(model_text).c_str(),
                  identical ? "identical" : ("token " + std::to_string(d)).c_str());
  }
  if (total == 0) throw Error(a.prompts + " has no prompts");
  if (a.json)
    std::printf("%s\n", nlohmann::json{{"baseline", a.baseline}, {"model", a.model}, {"max_tokens", a.max_tokens},
                                       {"identical", same}, {"total", total}, {"generations", rows}}.dump(2).c_str());
  else
    std::printf("\n%zu of %zu greedy generations identical (%lld tokens each at most)\n", same, total, (long long)a.max_tokens);
}

void add_common(CLI::App* cmd, EvalArgs& a) { add_engine_options(cmd, a.engine); }

}  // namespace

void add_eval_commands(CLI::App& app) {
  CLI::App* ev = app.add_subcommand("eval", "Measure a model: perplexity, KL vs a baseline, multiple choice, generations");
  ev->require_subcommand(1);

  auto p = std::make_shared<EvalArgs>();
  CLI::App* ppl = ev->add_subcommand("ppl", "Sliding-window perplexity (and KL / top-1 / delta-ppl against --baseline)");
  ppl->add_option("--model", p->model, "Model directory")->required();
  ppl->add_option("--text", p->text, "UTF-8 text file (tokenized with the model's tokenizer, BOS first)");
  ppl->add_option("--tokens-file", p->tokens_file, "Token ids: one document per line, space-separated");
  ppl->add_option("--ctx", p->ctx, "Window length (default 512)");
  ppl->add_option("--stride", p->stride, "Window step (default 256)");
  ppl->add_option("--baseline", p->baseline, "Reference model directory (same tokenizer)");
  ppl->add_flag("--json", p->json, "JSON output");
  ppl->add_flag("--quiet", p->quiet, "No progress bar");
  add_common(ppl, *p);
  ppl->callback([p] { run_ppl(*p); });

  auto k = std::make_shared<EvalArgs>();
  CLI::App* cmp = ev->add_subcommand("compare", "Several quantized models against their baseline: markdown, JSON, PNG chart");
  cmp->add_option("--baseline", k->baseline, "Reference model directory")->required();
  cmp->add_option("--models", k->models, "Quantized model directories")->required();
  cmp->add_option("--text", k->text, "UTF-8 text file (baseline's tokenizer)");
  cmp->add_option("--tokens-file", k->tokens_file, "Token ids: one document per line");
  cmp->add_option("--ctx", k->ctx, "Window length (default 512)");
  cmp->add_option("--stride", k->stride, "Window step (default 256)");
  cmp->add_option("--out", k->out, "Directory for compare.md, compare.json, compare.png")->required();
  cmp->add_flag("--quiet", k->quiet, "No progress bars");
  add_common(cmp, *k);
  cmp->callback([k] { run_compare(*k); });

  auto c = std::make_shared<EvalArgs>();
  CLI::App* mc = ev->add_subcommand("mc", "Multiple-choice log-likelihood accuracy (acc, acc_norm)");
  mc->add_option("--model", c->model, "Model directory (with a tokenizer)")->required();
  mc->add_option("--tasks", c->tasks, "JSONL items: native {question, choices, answer}, ARC, HellaSwag, PIQA, MMLU or lm-eval {context, choices, gold}")->required();
  mc->add_option("--format", c->format, "auto (default), native, arc, hellaswag, piqa, mmlu, lm-eval");
  mc->add_option("--num-fewshot", c->fewshot, "Solved examples before each item (lm-eval-harness's few-shot prompt)");
  mc->add_option("--fewshot-file", c->fewshot_file, "Where the examples come from (default: the tasks file, never the item itself)");
  mc->add_flag("--json", c->json, "JSON output with every log-likelihood");
  add_common(mc, *c);
  mc->callback([c] { run_mc(*c); });

  CLI::App* layers = ev->add_subcommand("layers", "Where the error enters: per decoder layer and per linear, against the baseline");
  layers->add_option("--model", c->model, "Quantized model directory")->required();
  layers->add_option("--baseline", c->baseline, "Reference model directory (its tokenizer encodes --text)")->required();
  layers->add_option("--text", c->text, "UTF-8 text file (its first --ctx tokens are run)");
  layers->add_option("--tokens-file", c->tokens_file, "Token ids (the first document)");
  layers->add_option("--ctx", c->ctx, "Tokens to run (default 512)");
  layers->add_flag("--json", c->json, "JSON output");
  add_engine_options(layers, c->engine, false);
  layers->callback([c] { run_layers(*c); });

  auto d = std::make_shared<EvalArgs>();
  CLI::App* dg = ev->add_subcommand("diff-generate", "Greedy generations of two models side by side");
  dg->add_option("--baseline", d->baseline, "Reference model directory")->required();
  dg->add_option("--model", d->model, "Model directory")->required();
  dg->add_option("--prompts", d->prompts, "One prompt per line")->required();
  dg->add_option("--max-tokens", d->max_tokens, "Tokens per generation (default 32)");
  dg->add_flag("--json", d->json, "JSON output: both texts and token ids per prompt, first differing position (null if identical)");
  add_common(dg, *d);
  dg->callback([d] { run_diff_generate(*d); });
}

}  // namespace hifp8::cli
