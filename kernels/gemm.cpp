#include "kernels/gemm.h"

#include "kernels/cpu/cpu_ops.h"

namespace offramp::kernels {

WeightLayout preferred_weight_layout(Device dev) {
  (void)dev;
#ifdef OFFRAMP_HAVE_DNNL
  return WeightLayout::KN;
#else
  return WeightLayout::NK;
#endif
}

std::vector<float> transpose(const std::vector<float>& w, int n, int k) {
  check(w.size() == static_cast<size_t>(n) * static_cast<size_t>(k), "transpose", "size is not n * k");
  std::vector<float> t(w.size());
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < k; ++j) t[static_cast<size_t>(j) * n + i] = w[static_cast<size_t>(i) * k + j];
  return t;
}

void linear(Device dev, const float* x, const float* w, const float* bias, float* y, int m,
            int n, int k, WeightLayout layout) {
  check(m >= 0 && n > 0 && k > 0, "linear", "bad shape");
  check(m == 0 || (x && w && y), "linear", "null buffer");
  if (dev == Device::Cuda) no_cuda("linear");
  cpu::linear(x, w, bias, y, m, n, k, layout == WeightLayout::KN);
}

}  // namespace offramp::kernels
