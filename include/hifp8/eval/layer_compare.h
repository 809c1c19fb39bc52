#pragma once
// Where quantization error enters a model (the FP8 report's "compare intermediate outputs" flow):
// both models run the same tokens; for every decoder layer's output hidden state and every linear's
// output, the relative error ||x - x_ref|| / ||x_ref|| and the cosine similarity against the
// baseline, and the decoder layer where the error grows most.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hifp8/model/engine.h"

namespace hifp8::eval {

struct TensorAgreement {
  std::string name;  // "model.layers.3" (the hidden state after layer 3) or a linear's module name
  double relative_error = 0, cosine = 1;
  bool compared = true;  // false: the two models produced different amounts (an MoE routed differently)
};

struct LayerReport {
  size_t tokens = 0;
  std::vector<TensorAgreement> layers;   // decoder layers in order, then "logits"
  std::vector<TensorAgreement> linears;  // every linear (and expert) by module name, in first-call order
  std::optional<size_t> jump_layer;      // the decoder layer whose hidden-state error grows most over the previous
  nlohmann::json to_json() const;
  std::string to_text() const;
};

struct LayerCompareOptions {
  model::EngineOptions engine;  // both models run on it (each with one slot of the tokens' length)
};

// Errors name a model that cannot load or tokens outside either vocabulary.
LayerReport compare_layers(const std::filesystem::path& model, const std::filesystem::path& baseline,
                           std::span<const int32_t> tokens, const LayerCompareOptions& options = {});

}  // namespace hifp8::eval
