// Perplexity against the Hugging Face sliding-window computation run with transformers on the device
// machine (scripts/device/ppl_reference.py -> tests/data/ppl_reference.json); KL / top-1 against a
// baseline; multiple-choice log-likelihoods against sums recomputed from the model's logits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "hifp8/error.h"
#include "hifp8/eval/compare.h"
#include "hifp8/eval/benchmark_items.h"
#include "hifp8/eval/layer_compare.h"
#include "hifp8/eval/multiple_choice.h"
#include "hifp8/eval/perplexity.h"
#include "hifp8/io/checkpoint.h"
#include "hifp8/io/safetensors.h"
#include "hifp8/quant/quantized_tensor.h"
#include "hifp8/pipeline/quantize_checkpoint.h"
#include "support/rewrite_checkpoint.h"
#include "support/shared_data.h"
#include "support/temp_dir.h"

namespace hifp8::eval {
namespace {
using io::read_token_file;
namespace fs = std::filesystem;

TEST(Perplexity, MatchesHuggingFaceSlidingWindow) {
  std::ifstream in(fs::path(HIFP8_SOURCE_DIR) / "tests/data/ppl_reference.json");
  ASSERT_TRUE(in) << "tests/data/ppl_reference.json missing";
  const nlohmann::json ref = nlohmann::json::parse(in);
  const model::Model m = model::Model::load(test::shared_path("models/stories260K"));
  const std::vector<Document> docs = read_token_file(test::shared_path("data/stories260K_samples.tokens"));
  for (const nlohmann::json& r : ref["results"]) {
    PerplexityOptions o;
    o.ctx = r["ctx"], o.stride = r["stride"];
    SCOPED_TRACE("ctx " + std::to_string(o.ctx) + " stride " + std::to_string(o.stride));
    const PerplexityResult got = perplexity(m, docs, o);
    EXPECT_EQ(got.tokens, r["tokens"].get<size_t>());
    EXPECT_NEAR(got.mean_nll, r["mean_nll"].get<double>(), 1e-5);
    EXPECT_NEAR(got.ppl / r["ppl"].get<double>(), 1.0, 1e-5);
  }
}

TEST(Perplexity, BaselineKlAndTopOne) {
  test::TempDir tmp;
  const fs::path dir = test::shared_path("models/stories260K");
  const model::Model m = model::Model::load(dir);
  const std::vector<Document> docs = read_token_file(test::shared_path("data/stories260K_samples.tokens"));
  const PerplexityResult self = perplexity(m, docs, {}, &m);
  EXPECT_LT(*self.mean_kl, 1e-12);
  EXPECT_EQ(*self.top1_agreement, 1.0);
  EXPECT_EQ(*self.baseline_ppl, self.ppl);
  pipeline::QuantizeCheckpointOptions q;
  q.scheme = "int8-dynamic";
  pipeline::quantize_checkpoint(dir, tmp.path() / "int8", q);
  const model::Model quantized = model::Model::load(tmp.path() / "int8");
  const PerplexityResult r = perplexity(quantized, docs, {}, &m);
  EXPECT_NEAR(*r.baseline_ppl, self.ppl, 1e-9 * self.ppl);
  EXPECT_GT(*r.mean_kl, 1e-4);
  EXPECT_LT(*r.mean_kl, 0.2);
  EXPECT_GE(*r.max_kl, *r.mean_kl);
  EXPECT_GT(*r.top1_agreement, 0.7);
  EXPECT_LT(*r.top1_agreement, 1.0);
}

TEST(Perplexity, BadInputsAreErrors) {
  test::TempDir tmp;
  const model::Model m = model::Model::load(test::shared_path("models/stories260K"));
  const std::vector<Document> docs = {{1, 2, 3}};
  EXPECT_THROW(perplexity(m, docs, {1, 1}), Error);
  EXPECT_THROW(perplexity(m, docs, {8, 9}), Error);
  EXPECT_THROW(perplexity(m, {{1}}, {}), Error);  // nothing to score
  std::ofstream(tmp.path() / "bad.tokens") << "1 2 x\n";
  EXPECT_THROW(read_token_file(tmp.path() / "bad.tokens"), Error);
  std::ofstream(tmp.path() / "empty.tokens") << "\n\n";
  EXPECT_THROW(read_token_file(tmp.path() / "empty.tokens"), Error);
}

TEST(MultipleChoice, LogLikelihoodsAndAccuracy) {
  test::TempDir tmp;
  const fs::path dir = test::shared_path("models/pd-llama-15M");
  const model::Model m = model::Model::load(dir);
  const auto tok = model::Tokenizer::load(dir);
  std::ofstream(tmp.path() / "tasks.jsonl")
      << R"({"question": "The king sat upon his", "choices": ["throne", "spoon quickly"], "answer": 0})" << "\n"
      << R"({"question": "Once upon a", "choices": ["banana", "time"], "answer": 1})" << "\n\n";
  const std::vector<ChoiceItem> items = read_benchmark_items(tmp.path() / "tasks.jsonl");
  ASSERT_EQ(items.size(), 2u);
  const ChoiceResult r = multiple_choice(m, *tok, items);
  const auto V = size_t(m.config().vocab);
  for (size_t i = 0; i < items.size(); ++i)
    for (size_t c = 0; c < items[i].choices.size(); ++c) {
      const std::vector<int32_t> q = tok->encode(items[i].question), w = tok->encode(items[i].question + " " + items[i].choices[c]);
      model::KvCache cache = m.new_cache(model::KvDType::f32, int64_t(w.size()));
      const std::vector<float> logits = m.forward(w, cache, true);
      double expected = 0;
      for (size_t p = q.size(); p < w.size(); ++p) {  // log softmax at the next token, in double
        const float* row = &logits[(p - 1) * V];
        const double mx = *std::max_element(row, row + V);
        double sum = 0;
        for (size_t v = 0; v < V; ++v) sum += std::exp(double(row[v]) - mx);
        expected += double(row[size_t(w[p])]) - mx - std::log(sum);
      }
      EXPECT_NEAR(r.loglik[i][c], expected, 1e-9) << i << " " << c;
    }
  EXPECT_EQ(r.acc, 1.0) << "both items are easy for the model";
  EXPECT_GE(r.acc_norm, 0.5);
  std::ofstream(tmp.path() / "bad.jsonl") << R"({"question": "q", "choices": ["a"], "answer": 0})" << "\n";
  EXPECT_THROW(read_benchmark_items(tmp.path() / "bad.jsonl"), Error);
  std::ofstream(tmp.path() / "bad2.jsonl") << "{not json\n";
  EXPECT_THROW(read_benchmark_items(tmp.path() / "bad2.jsonl"), Error);
}

}  // namespace
}  // namespace hifp8::eval

namespace hifp8::eval {
namespace {

TEST(Compare, WeightSqnrAndReportFiles) {
  test::TempDir tmp;
  const fs::path dir = test::shared_path("models/stories260K");
  pipeline::QuantizeCheckpointOptions q;
  q.scheme = "hif8";
  pipeline::quantize_checkpoint(dir, tmp.path() / "hif8", q);
  const auto sqnr = weight_sqnr(tmp.path() / "hif8", dir);
  EXPECT_EQ(sqnr.size(), 35u) << "5 layers x 7 linears; embeddings and norms are copied unchanged";
  for (const auto& [name, db] : sqnr) {
    EXPECT_GT(db, 25.0) << name;
    EXPECT_LT(db, 45.0) << name;
  }
  const model::Model base = model::Model::load(dir), m = model::Model::load(tmp.path() / "hif8");
  const PerplexityResult r = perplexity(m, read_token_file(test::shared_path("data/stories260K_samples.tokens")), {}, &base);
  write_comparison(tmp.path() / "report", dir.string(), {{"hif8", r, sqnr}});
  for (const char* f : {"compare.md", "compare.json", "compare.png"}) EXPECT_TRUE(fs::exists(tmp.path() / "report" / f)) << f;
  std::ifstream png(tmp.path() / "report" / "compare.png", std::ios::binary);
  char magic[4] = {};
  png.read(magic, 4);
  EXPECT_EQ(std::string(magic + 1, 3), "PNG");
  EXPECT_GT(fs::file_size(tmp.path() / "report" / "compare.png"), 10000u);
}

}  // namespace
}  // namespace hifp8::eval

namespace hifp8::eval {
namespace {

// Each benchmark shape becomes lm-eval-harness's prompt and choices for that task.
TEST(BenchmarkItems, EveryShapeBecomesTheHarnessPrompt) {
  test::TempDir tmp;
  auto one = [&](const std::string& line, const std::string& format = "auto") {
    std::ofstream(tmp.path() / "t.jsonl") << line << "\n";
    const auto items = read_benchmark_items(tmp.path() / "t.jsonl", format);
    EXPECT_EQ(items.size(), 1u);
    return items.at(0);
  };
  ChoiceItem arc = one(R"({"id": "x", "question": {"stem": "Which is a gas?", "choices": [{"text": "ice", "label": "A"}, {"text": "steam", "label": "B"}]}, "answerKey": "B"})");
  EXPECT_EQ(arc.question, "Question: Which is a gas?\nAnswer:");
  EXPECT_EQ(arc.choices, (std::vector<std::string>{"ice", "steam"}));
  EXPECT_EQ(arc.answer, 1u);
  ChoiceItem hub = one(R"({"question": "Q?", "choices": {"text": ["a", "b", "c"], "label": ["1", "2", "3"]}, "answerKey": "3"})");
  EXPECT_EQ(hub.answer, 2u) << "numeric labels as in some ARC items";
  ChoiceItem hs = one(R"({"activity_label": "Baking cookies", "ctx_a": "A woman mixes dough.", "ctx_b": "she", "endings": ["bakes it [title] well.", "eats  it."], "label": "1"})");
  EXPECT_EQ(hs.question, "Baking cookies: A woman mixes dough. She");
  EXPECT_EQ(hs.choices, (std::vector<std::string>{"bakes it. well.", "eats it."}));
  EXPECT_EQ(hs.answer, 1u);
  ChoiceItem piqa = one(R"({"goal": "Open a jar", "sol1": "twist the lid", "sol2": "freeze it", "label": 0})");
  EXPECT_EQ(piqa.question, "Question: Open a jar\nAnswer:");
  ChoiceItem mmlu = one(R"({"question": "2+2?", "subject": "elementary_mathematics", "choices": ["3", "4", "5", "6"], "answer": 1})");
  EXPECT_EQ(mmlu.question, "The following are multiple choice questions (with answers) about elementary mathematics.\n\n2+2?\nA. 3\nB. 4\nC. 5\nD. 6\nAnswer:");
  EXPECT_EQ(mmlu.choices, (std::vector<std::string>{"A", "B", "C", "D"}));
  ChoiceItem lm = one(R"({"context": "The sky is", "choices": ["blue", "green"], "gold": 0})");
  EXPECT_EQ(lm.question, "The sky is");
  EXPECT_EQ(one(R"({"question": "q", "choices": ["a", "b"], "answer": 1})").answer, 1u);
  EXPECT_THROW(one(R"({"question": "q", "choices": ["a", "b"], "answer": 1})", "klingon"), Error);
  EXPECT_THROW(one(R"({"foo": 1})"), Error);
  EXPECT_THROW(one(R"({"goal": "g", "sol1": "a", "sol2": "b", "label": 5})"), Error);
}

TEST(BenchmarkItems, RealArcEasyAndFewShotPrompts) {
  const auto items = read_benchmark_items(test::shared_path("data/arc_easy_dev.jsonl"));
  ASSERT_GT(items.size(), 10u);
  for (const ChoiceItem& i : items) {
    EXPECT_TRUE(i.question.starts_with("Question: ") && i.question.ends_with("\nAnswer:"));
    EXPECT_GE(i.choices.size(), 3u);
  }
  const auto shots = with_fewshot({items[0], items[1]}, items, 2);
  // Item 0 gets items 1 and 2 as its examples (never itself), solved, blank lines between.
  EXPECT_EQ(shots[0].question, items[1].question + " " + items[1].choices[items[1].answer] + "\n\n" + items[2].question + " " +
                                   items[2].choices[items[2].answer] + "\n\n" + items[0].question);
  EXPECT_TRUE(shots[1].question.starts_with(items[0].question + " ")) << "item 1's first example is item 0";
  EXPECT_THROW(with_fewshot({items[0]}, {items[0]}, 1), Error) << "no example but the item itself";
}

}  // namespace
}  // namespace hifp8::eval

namespace hifp8::eval {
namespace {

// A copy of a float checkpoint with one tensor scaled.
void write_scaled_copy(const fs::path& in, const fs::path& out, const std::string& tensor, float factor) {
  test::rewrite_checkpoint(in, out, io::TensorDType::F32, [&](const std::string& name, std::vector<float>& values, const auto&) {
    if (name == tensor)
      for (float& v : values) v *= factor;
  });
}

LayerCompareOptions two_threads() {
  LayerCompareOptions o;
  o.engine.threads = 2;
  return o;
}

TEST(LayerCompare, FindsTheLayerWhereTheErrorEnters) {
  test::TempDir tmp;
  const fs::path tiny = fs::path(HIFP8_SOURCE_DIR) / "tests/data/tiny-models/llama3";
  const std::vector<int32_t> tokens = {1, 5, 9, 33, 64, 2, 7, 100, 12, 40};
  const LayerReport same = compare_layers(tiny, tiny, tokens, two_threads());
  ASSERT_EQ(same.layers.size(), 3u) << "two decoder layers and the logits";
  for (const auto& a : same.layers) EXPECT_EQ(a.relative_error, 0.0) << a.name;
  EXPECT_EQ(same.linears.size(), 15u) << "seven linears a layer, and lm_head";
  // Layer 1's o_proj made 3x larger: layer 0 agrees, layer 1 is where the error enters.
  write_scaled_copy(tiny, tmp.path() / "broken", "model.layers.1.self_attn.o_proj.weight", 3.0f);
  const LayerReport broken = compare_layers(tmp.path() / "broken", tiny, tokens, two_threads());
  EXPECT_LT(broken.layers[0].relative_error, 1e-7);
  EXPECT_GT(broken.layers[1].relative_error, 0.05);
  ASSERT_TRUE(broken.jump_layer);
  EXPECT_EQ(*broken.jump_layer, 1u);
  for (const auto& a : broken.linears) {
    if (a.name == "model.layers.1.self_attn.o_proj") {
      EXPECT_GT(a.relative_error, 1.0) << "3x: relative error 2";
    } else if (a.name.starts_with("model.layers.0.") || a.name.starts_with("model.layers.1.self_attn.")) {
      EXPECT_LT(a.relative_error, 1e-7) << a.name;
    }
  }
  const nlohmann::json j = broken.to_json();
  EXPECT_EQ(j["jump_layer"], 1);
  EXPECT_NE(broken.to_text().find("grows most at decoder layer 1"), std::string::npos);
}

// An MoE quantized copy: experts are compared where both models routed the same tokens to them.
TEST(LayerCompare, QuantizedMoeAgainstItsOriginal) {
  test::TempDir tmp;
  const fs::path tiny = fs::path(HIFP8_SOURCE_DIR) / "tests/data/tiny-models/qwen3_moe";
  pipeline::QuantizeCheckpointOptions opt;
  opt.scheme = "hif8";
  pipeline::quantize_checkpoint(tiny, tmp.path() / "q", opt);
  const LayerReport r = compare_layers(tmp.path() / "q", tiny, std::vector<int32_t>{3, 17, 99, 5, 64, 127, 0, 42}, two_threads());
  for (const auto& a : r.layers) {
    EXPECT_GT(a.relative_error, 0.0) << a.name;
    EXPECT_LT(a.relative_error, 0.5) << a.name << " (a tiny random model: 8-bit weights move it by ~25 %)";
    EXPECT_GT(a.cosine, 0.9) << a.name;
  }
  EXPECT_GT(r.linears.size(), 8u);
}

}  // namespace
}  // namespace hifp8::eval
