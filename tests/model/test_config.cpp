// config.json fields are read through one typed accessor (io::JsonFields): a wrong type, a value out
// of range or a hostile size is an Error that names the field (exit 2 at the CLI), never a raw library
// exception ("internal error") nor a silently ignored or accepted value. Cases from issue 14's trial.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "hifp8/error.h"
#include "hifp8/io/checkpoint_inspect.h"
#include "hifp8/model/config.h"
#include "hifp8/model/sampler.h"

namespace hifp8::model {
namespace {

nlohmann::json good() {
  return nlohmann::json::parse(R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100,
    "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "bos_token_id": 1, "eos_token_id": [2, 3],
    "tie_word_embeddings": false, "pad_token_id": null})");
}

// The config with `patch` merged in must fail with a message that names `field`.
void expect_refused(const nlohmann::json& patch, const std::string& field) {
  nlohmann::json c = good();
  c.merge_patch(patch);
  try {
    ModelConfig::from_json(c);
    ADD_FAILURE() << "accepted " << patch.dump();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
  }
}

TEST(Config, GoodConfigReads) {
  const ModelConfig m = ModelConfig::from_json(good());
  EXPECT_EQ(m.hidden, 64);
  EXPECT_EQ(m.head_dim, 16);
  EXPECT_EQ(m.eos_tokens, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(m.bos_token, 1);
}

TEST(Config, WrongTypesNameTheField) {
  expect_refused({{"tie_word_embeddings", "yes"}}, "tie_word_embeddings");
  expect_refused({{"max_position_embeddings", "4096"}}, "max_position_embeddings");
  expect_refused({{"rope_scaling", {{"rope_type", 5}}}}, "rope_type");
  expect_refused({{"rope_scaling", "llama3"}}, "rope_scaling");
  expect_refused({{"hidden_size", 64.5}}, "hidden_size");
  expect_refused({{"eos_token_id", {2, "x"}}}, "eos_token_id");
  expect_refused({{"architectures", "LlamaForCausalLM"}}, "architectures");
}

TEST(Config, ValuesOutOfRangeNameTheField) {
  expect_refused({{"num_hidden_layers", -1}}, "num_hidden_layers");
  expect_refused({{"hidden_size", 1e12}}, "hidden_size");
  expect_refused({{"hidden_size", 1000000000000}}, "hidden_size");
  expect_refused({{"vocab_size", 0}}, "vocab_size");
  expect_refused({{"bos_token_id", -7}}, "bos_token_id");
  expect_refused({{"eos_token_id", 100}}, "eos_token_id");  // outside the vocabulary
  expect_refused({{"rms_norm_eps", -1e-5}}, "rms_norm_eps");
  expect_refused({{"rope_theta", 0}}, "rope_theta");
  expect_refused({{"rope_theta", -5}}, "rope_theta");
  expect_refused({{"num_key_value_heads", 3}}, "num_key_value_heads");
  expect_refused({{"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8}, {"low_freq_factor", 4}, {"high_freq_factor", 4}}}},
                 "high_freq_factor");
  expect_refused({{"rope_scaling", {{"rope_type", "dynamic"}}}}, "dynamic");
}

TEST(Config, QuantizationConfigTypesNameTheField) {
  for (const auto& [qc, field] : std::vector<std::pair<nlohmann::json, std::string>>{
           {"fp8", "quantization_config"},
           {{{"quant_method", 8}}, "quant_method"},
           {{{"quant_method", "fp8"}, {"weight_block_size", "128"}}, "weight_block_size"},
           {{{"quant_method", "fp8"}, {"ignored_layers", "lm_head"}}, "ignored_layers"},
           {{{"quant_method", "compressed-tensors"}, {"config_groups", {{"g", {{"weights", 1}}}}}}, "weights"}}) {
    try {
      io::read_quantization_layout({{"quantization_config", qc}});
      ADD_FAILURE() << "accepted " << qc.dump();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  }
}

// A subnormal temperature is greedy in the limit; before, 1/T overflowed and every weight was NaN.
TEST(Sampler, SubnormalTemperatureIsGreedy) {
  SamplingOptions o;
  o.temperature = 1e-45f;
  Sampler s(o);
  const std::vector<float> logits = {0.5f, 3.0f, -1.0f, 2.9f};
  for (int i = 0; i < 20; ++i) EXPECT_EQ(s.next(logits), 1);
}

// NaN logits (a broken checkpoint on any backend) are an Error, not token 0 forever.
TEST(Sampler, NanLogitsAreAnError) {
  const std::vector<float> logits = {0.5f, std::nanf(""), 1.0f};
  for (float t : {0.0f, 1.0f}) {
    SamplingOptions o;
    o.temperature = t;
    Sampler s(o);
    EXPECT_THROW(s.next(logits), Error);
  }
}

}  // namespace
}  // namespace hifp8::model
