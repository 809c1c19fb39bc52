// Large matrix products through cuBLASLt: W8A8 E4M3 (prefill) and bf16 (baseline, bf16 weights).
// Row-major y[m, n] = a[m, k] . b[n, k]^T is, in cuBLAS's column-major terms, C[n, m] = B^T A with
// B as the transposed operand: the "TN" layout FP8 requires on Hopper. Plans (descriptors and the
// heuristic's algorithm) are cached per shape and scale mode.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "hifp8/error.h"
#include "hifp8/format/bits.h"
#include "hifp8/kernel/cuda.h"
#include "hifp8/kernel/cuda_matmul.h"
#include "launch.h"

namespace hifp8::cuda {
namespace {

const char* status_name(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "invalid value";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "not supported on this GPU";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "execution failed";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "not supported";
    default: return "error";
  }
}

void check_lt(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw Error(std::string("cuBLASLt: ") + what + " failed: " + status_name(status));
}

constexpr size_t kWorkspaceBytes = size_t{32} << 20;

struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
  bool found = false;
};

enum class Kind { fp8_tensor, fp8_outer_vector, bf16, bf16_f32_out };

// One product C[n, m] = op(A) B in cuBLAS's column-major terms (A = the row-major weight-like operand
// w, B = the row-major activation-like operand x), with leading dimensions and batching.
struct Problem {
  Kind kind;
  int64_t m, n, k;
  bool a_transposed = true;  // w stored row-major [n, k] (y = x w^T); false: [k, n] (y = x w)
  int64_t lda = 0, ldb = 0, ldc = 0;  // 0: packed
  int batch = 1;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;
  uint32_t align_a = 256, align_b = 256, align_c = 256;  // bytes the operands' rows are aligned to
  auto key() const {
    return std::tuple(kind, m, n, k, a_transposed, lda, ldb, ldc, batch, stride_a, stride_b, stride_c, align_a,
                      align_b, align_c);
  }
};
using PlanKey = decltype(Problem{}.key());

class Lt {
 public:
  static Lt& get() {
    static Lt lt;
    return lt;
  }
  cublasLtHandle_t handle() const { return handle_; }
  // One workspace per stream: products on two streams (two engines at once) must not share one. A
  // stream's first product allocates it, before any graph capture of that stream.
  void* workspace(cudaStream_t stream) {
    const std::lock_guard<std::mutex> guard(lock_);
    DeviceBuffer& w = workspaces_[stream];
    if (!w.data()) w = DeviceBuffer(kWorkspaceBytes);
    return w.data();
  }

  // The plan for a problem; `found` is false when cuBLASLt has no algorithm for it.
  const Plan& plan(const Problem& problem) {
    const std::lock_guard<std::mutex> guard(lock_);
    auto [it, inserted] = plans_.try_emplace(problem.key());
    if (inserted) it->second = make_plan(problem);
    return it->second;
  }
  const Plan& plan(Kind kind, int64_t m, int64_t n, int64_t k) { return plan(Problem{kind, m, n, k}); }

 private:
  Lt() { check_lt(cublasLtCreate(&handle_), "cublasLtCreate"); }

  Plan make_plan(const Problem& q) {
    const Kind kind = q.kind;
    const int64_t m = q.m, n = q.n, k = q.k;
    Plan p;
    const bool fp8 = kind == Kind::fp8_tensor || kind == Kind::fp8_outer_vector;
    const cudaDataType_t in_type = fp8 ? CUDA_R_8F_E4M3 : CUDA_R_16BF;
    check_lt(cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate");
    const cublasOperation_t transa = q.a_transposed ? CUBLAS_OP_T : CUBLAS_OP_N, transb = CUBLAS_OP_N;
    check_lt(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &transa, sizeof(transa)), "set TRANSA");
    check_lt(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &transb, sizeof(transb)), "set TRANSB");
    if (kind == Kind::fp8_outer_vector) {
      const int32_t mode = CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F;
      check_lt(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &mode, sizeof(mode)), "set A_SCALE_MODE");
      check_lt(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &mode, sizeof(mode)), "set B_SCALE_MODE");
    }
    if (q.a_transposed)
      check_lt(cublasLtMatrixLayoutCreate(&p.a, in_type, uint64_t(k), uint64_t(n), q.lda ? q.lda : k), "layout A");
    else
      check_lt(cublasLtMatrixLayoutCreate(&p.a, in_type, uint64_t(n), uint64_t(k), q.lda ? q.lda : n), "layout A");
    check_lt(cublasLtMatrixLayoutCreate(&p.b, in_type, uint64_t(k), uint64_t(m), q.ldb ? q.ldb : k), "layout B");
    const cudaDataType_t out_type = kind == Kind::bf16_f32_out ? CUDA_R_32F : CUDA_R_16BF;
    check_lt(cublasLtMatrixLayoutCreate(&p.c, out_type, uint64_t(n), uint64_t(m), q.ldc ? q.ldc : n), "layout C");
    if (q.batch > 1) {
      const auto batched = [&](cublasLtMatrixLayout_t layout, int64_t stride) {
        const int32_t count = q.batch;
        check_lt(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)),
                 "set BATCH_COUNT");
        check_lt(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride,
                                                  sizeof(stride)),
                 "set STRIDED_BATCH_OFFSET");
      };
      batched(p.a, q.stride_a);
      batched(p.b, q.stride_b);
      batched(p.c, q.stride_c);
    }
    cublasLtMatmulPreference_t pref = nullptr;
    check_lt(cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate");
    const uint64_t ws = kWorkspaceBytes;
    check_lt(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)),
             "set workspace");
    const std::pair<cublasLtMatmulPreferenceAttributes_t, uint32_t> alignments[] = {
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, q.align_a}, {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, q.align_b},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, q.align_c}, {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, q.align_c}};
    for (const auto& [attribute, bytes] : alignments)
      check_lt(cublasLtMatmulPreferenceSetAttribute(pref, attribute, &bytes, sizeof(bytes)), "set alignment");
    cublasLtMatmulHeuristicResult_t result{};
    int count = 0;
    // The scale pointers are part of the problem cuBLASLt checks: set placeholders of the right kind.
    const cublasStatus_t status =
        cublasLtMatmulAlgoGetHeuristic(handle_, p.desc, p.a, p.b, p.c, p.c, pref, 1, &result, &count);
    cublasLtMatmulPreferenceDestroy(pref);
    p.found = status == CUBLAS_STATUS_SUCCESS && count > 0;
    if (p.found) p.algo = result.algo;
    return p;
  }

  cublasLtHandle_t handle_ = nullptr;
  std::map<cudaStream_t, DeviceBuffer> workspaces_;
  std::mutex lock_;
  std::map<PlanKey, Plan> plans_;
};

void run_plan(const Plan& p, const void* a_operand, const void* b_operand, void* y, cudaStream_t stream) {
  const float one = 1.0f, zero = 0.0f;
  Lt& lt = Lt::get();
  check_lt(cublasLtMatmul(lt.handle(), p.desc, &one, a_operand, p.a, b_operand, p.b, &zero, y, p.c, y, p.c, &p.algo,
                          lt.workspace(stream), kWorkspaceBytes, stream),
           "cublasLtMatmul");
}

void set_scale_pointers(const Plan& p, const float* a_scale, const float* b_scale) {
  check_lt(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &a_scale, sizeof(a_scale)),
           "set A_SCALE_POINTER");
  check_lt(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &b_scale, sizeof(b_scale)),
           "set B_SCALE_POINTER");
}

// y[r, c] *= row[r or 0] * col[c or 0], in place on bf16 (the per-row and per-column scales cuBLASLt
// lacks on Hopper). Blocks walk rows; threads walk a row's columns.
__global__ void scale_rows_cols(uint16_t* y, int64_t m, int64_t n, const float* row, bool row_vec, const float* col,
                                bool col_vec) {
  for (int64_t r = blockIdx.y; r < m; r += gridDim.y) {
    const float rs = row[row_vec ? r : 0];
    uint16_t* yr = y + r * n;
    for (int64_t c = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; c < n; c += int64_t{gridDim.x} * blockDim.x)
      yr[c] = f32_to_bf16(bf16_to_f32(yr[c]) * (rs * col[col_vec ? c : 0]));
  }
}

// y[r, c] = float(g[r, c]) * row[r] * col[c or 0] (+ bias[c]): the W8A8 GEMM's bf16 result scaled
// into the float32 output, 8 columns (one 16-byte load) per thread; n % 8 == 0.
__global__ void scale_bf16_to_f32(const uint16_t* g, float* y, int64_t m, int64_t n, const float* row, const float* col,
                                  bool col_vec, const float* bias) {
  for (int64_t r = blockIdx.y; r < m; r += gridDim.y) {
    const float rs = row[r];
    const int64_t c = (int64_t{blockIdx.x} * blockDim.x + threadIdx.x) * 8;
    if (c >= n) return;
    const uint4 raw = *reinterpret_cast<const uint4*>(g + r * n + c);
    const uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
    float v[8];
#pragma unroll
    for (int i = 0; i < 4; ++i) v[2 * i] = __uint_as_float(w[i] << 16), v[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
#pragma unroll
    for (int i = 0; i < 8; ++i) v[i] = v[i] * (rs * col[col_vec ? c + i : 0]) + (bias ? bias[c + i] : 0.0f);
    float4* out = reinterpret_cast<float4*>(y + r * n + c);
    out[0] = make_float4(v[0], v[1], v[2], v[3]);
    out[1] = make_float4(v[4], v[5], v[6], v[7]);
  }
}

const float* device_one() {
  static const DeviceBuffer one = [] {
    DeviceBuffer b(sizeof(float));
    const float v = 1.0f;
    b.upload(&v, sizeof(v));
    return b;
  }();
  return one.as<float>();
}

}  // namespace

bool fp8_outer_vector_scales_supported() {
  return Lt::get().plan(Kind::fp8_outer_vector, 256, 256, 256).found;
}

void matmul_fp8(const Fp8Operand& a, const Fp8Operand& b, int64_t m, int64_t n, int64_t k, uint16_t* y, void* stream) {
  if (m <= 0 || n <= 0) return;
  if (k % 16 != 0) throw Error("matmul_fp8: k = " + std::to_string(k) + " is not a multiple of 16 (cuBLASLt FP8)");
  const auto s = static_cast<cudaStream_t>(stream);
  const bool vectors = a.per_row || b.per_row;
  if (vectors) {
    const Plan& p = Lt::get().plan(Kind::fp8_outer_vector, m, n, k);
    if (p.found && a.per_row && b.per_row) {
      set_scale_pointers(p, b.scales, a.scales);
      run_plan(p, b.codes, a.codes, y, s);
      return;
    }
  }
  const Plan& p = Lt::get().plan(Kind::fp8_tensor, m, n, k);
  if (!p.found) throw Error("matmul_fp8: cuBLASLt has no FP8 algorithm for this shape on this GPU");
  set_scale_pointers(p, b.per_row ? device_one() : b.scales, a.per_row ? device_one() : a.scales);
  run_plan(p, b.codes, a.codes, y, s);
  if (vectors) {
    const float* one = device_one();
    const dim3 grid(unsigned(std::min<int64_t>((n + 255) / 256, 8)), unsigned(std::min<int64_t>(m, 4096)));
    scale_rows_cols<<<grid, 256, 0, s>>>(y, m, n, a.per_row ? a.scales : one, a.per_row, b.per_row ? b.scales : one,
                                         b.per_row);
    check_launch("scale_rows_cols");
  }
}

void matmul_w8a8(const W8Weights& w, const uint8_t* x_codes, const float* x_scales, int64_t m, float* y,
                 uint16_t* scratch, const float* bias, void* stream) {
  if (!w8a8_supported(w))
    throw Error("matmul_w8a8: needs E4M3 weights with tensor or channel scales and n (" + std::to_string(w.layout.n) +
                ") a multiple of 8");
  if (m <= 0 || w.layout.n == 0) return;
  const auto s = static_cast<cudaStream_t>(stream);
  const W8Layout& l = w.layout;
  // bf16 output: cuBLASLt's FP8 kernels with a float32 output ran 1.3-2x slower (H200, 2026-12-01).
  Problem q{Kind::fp8_tensor, m, l.n, l.k_padded};
  q.lda = q.ldb = l.k_padded;
  const Plan& p = Lt::get().plan(q);
  if (!p.found) throw Error("matmul_w8a8: cuBLASLt has no FP8 algorithm for this shape on this GPU");
  const float* one = device_one();
  set_scale_pointers(p, one, one);
  run_plan(p, w.codes, x_codes, scratch, s);
  const dim3 grid(unsigned((l.n / 8 + 255) / 256), unsigned(std::min<int64_t>(m, 65535)));
  scale_bf16_to_f32<<<grid, 256, 0, s>>>(scratch, y, m, l.n, x_scales, w.scales,
                                         w.granularity.kind != GranularityKind::tensor, bias);
  check_launch("scale_bf16_to_f32");
}

namespace {

void run_bf16(Kind kind, const uint16_t* x, const uint16_t* w, int64_t m, int64_t n, int64_t k, void* y, void* stream) {
  if (m <= 0 || n <= 0) return;
  const Plan& p = Lt::get().plan(kind, m, n, k);
  if (!p.found) throw Error("matmul_bf16: cuBLASLt has no bf16 algorithm for this shape");
  run_plan(p, w, x, y, static_cast<cudaStream_t>(stream));
}

}  // namespace

void matmul_bf16(const uint16_t* x, const uint16_t* w, int64_t m, int64_t n, int64_t k, uint16_t* y, void* stream) {
  run_bf16(Kind::bf16, x, w, m, n, k, y, stream);
}

void matmul_bf16(const uint16_t* x, const uint16_t* w, int64_t m, int64_t n, int64_t k, float* y, void* stream) {
  run_bf16(Kind::bf16_f32_out, x, w, m, n, k, y, stream);
}

void matmul_bf16_batched(const StridedBf16& x, const StridedBf16& w, bool w_rows_are_n, int64_t m, int64_t n,
                         int64_t k, float* y, int64_t ldy, int64_t y_batch_stride, int batch, void* stream) {
  if (m <= 0 || n <= 0 || batch <= 0) return;
  // The alignment every row of every batch entry keeps: the largest power of two (<= 256 bytes)
  // dividing the base address, the row stride and the batch stride.
  const auto alignment = [](const void* p, int64_t ld, int64_t stride, size_t elem) {
    const uint64_t bits = reinterpret_cast<uintptr_t>(p) | uint64_t(ld) * elem | uint64_t(stride) * elem | 256;
    return uint32_t(bits & (~bits + 1));
  };
  Problem q{Kind::bf16_f32_out, m, n, k, w_rows_are_n, w.ld, x.ld, ldy, batch, w.batch_stride, x.batch_stride,
            y_batch_stride, alignment(w.data, w.ld, w.batch_stride, 2), alignment(x.data, x.ld, x.batch_stride, 2),
            alignment(y, ldy, y_batch_stride, 4)};
  const Plan& p = Lt::get().plan(q);
  if (!p.found) throw Error("matmul_bf16_batched: cuBLASLt has no algorithm for this problem");
  run_plan(p, w.data, x.data, y, static_cast<cudaStream_t>(stream));
}

}  // namespace hifp8::cuda
