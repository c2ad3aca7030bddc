// Packed variable-length attention: one task per (sequence, head), each an n x n score
// block for its own sequence only. The small GEMMs (n x d x n, d = 32 for MiniLM) use Eigen's
// single-threaded kernels, parallelised over tasks with OpenMP: cheaper than many tiny
// multithreaded BLAS calls.
#include <Eigen/Core>
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu_ops.h"

namespace offramp::kernels::cpu {

namespace {
using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstStrided = Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>>;
using Strided = Eigen::Map<RowMajor, 0, Eigen::OuterStride<>>;
}  // namespace

void packed_attention(const float* qkv, const int* offsets, int batch, int heads, int head_dim,
                      float* ctx) {
  const int h = heads * head_dim;
  const int tasks = batch * heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
#pragma omp parallel num_threads(cpu_threads())
  {
    RowMajor scores;  // [n, n], reused across this thread's tasks
#pragma omp for schedule(dynamic, 1)
    for (int task = 0; task < tasks; ++task) {
      const int s = task / heads, j = task % heads;
      const int begin = offsets[s], n = offsets[s + 1] - begin;
      if (n == 0) continue;
      const float* base = qkv + static_cast<size_t>(begin) * 3 * h + j * head_dim;
      ConstStrided q(base, n, head_dim, Eigen::OuterStride<>(3 * h));       // [n, d]
      ConstStrided k(base + h, n, head_dim, Eigen::OuterStride<>(3 * h));   // [n, d]
      ConstStrided v(base + 2 * h, n, head_dim, Eigen::OuterStride<>(3 * h));  // [n, d]
      scores.resize(n, n);
      scores.noalias() = (q * scale) * k.transpose();
      // Row softmax, max-subtracted.
      for (int r = 0; r < n; ++r) {
        auto row = scores.row(r).array();
        row = (row - row.maxCoeff()).exp();
        row /= row.sum();
      }
      Strided out(ctx + static_cast<size_t>(begin) * h + j * head_dim, n, head_dim,
                  Eigen::OuterStride<>(h));
      out.noalias() = scores * v;
    }
  }
}

}  // namespace offramp::kernels::cpu
