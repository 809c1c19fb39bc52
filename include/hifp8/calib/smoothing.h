#pragma once
// SmoothQuant: move activation outliers into the weights before quantization. For the linears that
// share one input (q/k/v after input_layernorm; gate/up after post_attention_layernorm), per input
// channel j:  s_j = max|X_j|^alpha / max|W_j|^(1 - alpha)  (max|W_j| over all of them), then
// W[:, j] *= s_j and the RMSNorm weight g_j /= s_j, which leaves the float model's function unchanged.
// With `full`, down_proj and o_proj are smoothed too, folding 1/s into the rows of up_proj (down's input
// is silu(gate) * up, linear in up's output) and of v_proj (o's input is attention-weighted v; with
// grouped-query heads one factor per value channel serves all heads reading it). MoE layers keep
// their MLP unsmoothed (the router shares the normed input).
#include <map>
#include <string>
#include <vector>

#include "hifp8/calib/calibration.h"
#include "hifp8/io/checkpoint.h"

namespace hifp8::calib {

// What to multiply a tensor by: columns (the last dimension; a 1-D tensor's elements) and/or rows.
struct TensorScaling {
  std::vector<float> columns, rows;
};

// Tensor name -> scaling. Throws Error if alpha is outside [0, 1] or calibration lacks a needed input.
std::map<std::string, TensorScaling> plan_smoothing(const io::Checkpoint& ckpt, const CalibrationResult& calibration,
                                                    float alpha, bool full);

// data (row-major, `cols` wide) *= the scaling; row_offset: the first row's index in the tensor.
void apply_scaling(const TensorScaling& s, float* data, size_t rows, size_t cols, size_t row_offset = 0);

}  // namespace hifp8::calib
