#include "hifp8/eval/layer_compare.h"

#include <cmath>
#include <cstdio>
#include <map>

#include "hifp8/error.h"
#include "hifp8/model/model.h"

namespace hifp8::eval {
namespace {

// Every traced tensor of one run, by name, values appended per call (an expert runs once a token).
struct Trace {
  std::map<std::string, std::vector<float>> values;
  std::vector<std::string> order;  // names in first-call order
  void add(const std::string& name, const float* x, size_t count) {
    auto [it, fresh] = values.try_emplace(name);
    if (fresh) order.push_back(name);
    it->second.insert(it->second.end(), x, x + count);
  }
};

Trace run(const std::filesystem::path& dir, std::span<const int32_t> tokens, model::EngineOptions options) {
  Trace t;
  const model::Model m = model::Model::load(dir, {options.act_quant, options.threads});
  options.slots = 1, options.max_context = int64_t(tokens.size());
  const auto engine = model::open_engine(m, options);
  engine->trace([&t](const std::string& name, const float* x, size_t rows, size_t n) { t.add(name, x, rows * n); });
  const std::vector<float> logits = engine->prefill(0, tokens, true);
  t.add("logits", logits.data(), logits.size());
  return t;
}

TensorAgreement agreement(const std::string& name, const std::vector<float>& x, const std::vector<float>& ref) {
  TensorAgreement a{name, 0, 1, x.size() == ref.size()};
  if (!a.compared) return a;
  double diff = 0, norm = 0, dot = 0, xx = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = double(x[i]) - double(ref[i]);
    diff += d * d, norm += double(ref[i]) * ref[i], dot += double(x[i]) * ref[i], xx += double(x[i]) * x[i];
  }
  a.relative_error = norm > 0 ? std::sqrt(diff / norm) : std::sqrt(diff);
  a.cosine = norm > 0 && xx > 0 ? dot / std::sqrt(norm * xx) : (diff == 0 ? 1.0 : 0.0);
  return a;
}

bool is_layer(const std::string& name) {
  return name == "logits" || (name.starts_with("model.layers.") && name.find('.', 13) == std::string::npos);
}

}  // namespace

LayerReport compare_layers(const std::filesystem::path& model, const std::filesystem::path& baseline,
                           std::span<const int32_t> tokens, const LayerCompareOptions& options) {
  if (tokens.empty()) throw Error("eval layers: no tokens to run");
  const Trace a = run(model, tokens, options.engine), b = run(baseline, tokens, options.engine);
  LayerReport r;
  r.tokens = tokens.size();
  for (const std::string& name : b.order) {
    const auto it = a.values.find(name);
    if (it == a.values.end()) continue;  // a module only the baseline has
    (is_layer(name) ? r.layers : r.linears).push_back(agreement(name, it->second, b.values.at(name)));
  }
  double best = 0, previous = 0;
  for (size_t i = 0; i < r.layers.size() && r.layers[i].name != "logits"; ++i) {
    const double growth = r.layers[i].relative_error - previous;
    if (growth > best) best = growth, r.jump_layer = i;
    previous = r.layers[i].relative_error;
  }
  return r;
}

nlohmann::json LayerReport::to_json() const {
  auto list = [](const std::vector<TensorAgreement>& v) {
    nlohmann::json out = nlohmann::json::array();
    for (const TensorAgreement& a : v)
      out.push_back({{"name", a.name},
                     {"relative_error", a.compared ? nlohmann::json(a.relative_error) : nlohmann::json(nullptr)},
                     {"cosine", a.compared ? nlohmann::json(a.cosine) : nlohmann::json(nullptr)}});
    return out;
  };
  return {{"tokens", tokens}, {"layers", list(layers)}, {"linears", list(linears)},
          {"jump_layer", jump_layer ? nlohmann::json(*jump_layer) : nlohmann::json(nullptr)}};
}

std::string LayerReport::to_text() const {
  std::string out;
  char line[256];
  auto row = [&](const TensorAgreement& a) {
    if (!a.compared) std::snprintf(line, sizeof line, "  %-48s  (routed differently: not compared)\n", a.name.c_str());
    else std::snprintf(line, sizeof line, "  %-48s  rel.err %.3e  cosine %.6f\n", a.name.c_str(), a.relative_error, a.cosine);
    out += line;
  };
  std::snprintf(line, sizeof line, "%zu tokens; hidden state after each decoder layer against the baseline:\n", tokens);
  out += line;
  for (const TensorAgreement& a : layers) row(a);
  if (jump_layer) {
    std::snprintf(line, sizeof line, "the error grows most at decoder layer %zu (%s)\n", *jump_layer, layers[*jump_layer].name.c_str());
    out += line;
  }
  out += "every linear's output:\n";
  for (const TensorAgreement& a : linears) row(a);
  return out;
}

}  // namespace hifp8::eval
