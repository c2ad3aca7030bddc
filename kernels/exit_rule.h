// The exit rule of an early-exit classifier, in one copy for every caller: the CPU exit head
// (kernels/cpu/exit_head_cpu.cpp), the CUDA exit-head kernels (kernels/cuda/exit_head.cu),
// the host emulation of the GPU (kernels/emulation/ops.cpp) and the offline threshold sweep
// (engine/src/sweep.cpp). So a sweep predicts exactly what classify does, on every backend,
// by construction. nvcc compiles it for the device, the host compiler for the host; it uses
// only what both have (math.h, no std::).
#pragma once

#include <math.h>
#include <stddef.h>

#ifdef __CUDACC__
#define OFFRAMP_HOST_DEVICE __host__ __device__
#else
#define OFFRAMP_HOST_DEVICE
#endif

namespace offramp::kernels {

// How a head's softmax becomes an exit decision (the engine maps offramp::Policy onto it).
enum class ExitPolicy : int {
  MaxProb,   // exit when max_k p_k >= threshold
  Entropy,   // exit when 1 - H(p) / log(labels) >= threshold (DeeBERT's criterion on 0..1)
  Patience,  // PABEE: exit once the argmax stayed the same over `patience` heads after the first
};

// One head's rule for every sequence of a batch.
struct ExitRule {
  ExitPolicy policy = ExitPolicy::MaxProb;
  double threshold = 0.9;  // the confidence is compared in double
  int patience = 2;
  bool never_exit = false;  // record every head's logits: run on, whatever the confidence
  bool final_head = false;  // the last head: every sequence leaves
};

// Per sequence of the batch, written by finish_exit (FP32 unless noted). The pointers are
// device memory in the GPU kernels, host memory everywhere else.
struct ExitOutputs {
  float* logits;        // [batch, labels] before the temperature
  float* probs;         // [batch, labels] softmax(logits / T)
  float* confidence;    // [batch] max probability (MaxProb, Patience) or 1 - H/log(labels)
  int* label;           // [batch] argmax
  unsigned char* keep;  // [batch] 1 = stays for the next layer, 0 = leaves here
  int* prev_argmax;     // [batch] patience state, read and updated (-1 before the first head)
  int* unchanged;       // [batch] consecutive heads after the first with an unchanged argmax
};

// p [labels] = softmax(z / temperature), summed in a fixed order so that a row's result never
// depends on its position in a batch. Calibration's temperature fit uses it too.
OFFRAMP_HOST_DEVICE inline void temperature_softmax(const float* z, int labels, float temperature,
                                                    float* p) {
  float mx = z[0] / temperature, sum = 0.0f;
  for (int k = 1; k < labels; ++k) mx = fmaxf(mx, z[k] / temperature);
  for (int k = 0; k < labels; ++k) sum += (p[k] = expf(z[k] / temperature - mx));
  for (int k = 0; k < labels; ++k) p[k] /= sum;
}

// 1 - H(p) / log(labels): 0 for the uniform distribution, 1 for a one-hot one.
OFFRAMP_HOST_DEVICE inline float normalised_negentropy(const float* p, int labels) {
  double ent = 0;
  for (int k = 0; k < labels; ++k)
    if (p[k] > 0) ent -= static_cast<double>(p[k]) * log(static_cast<double>(p[k]));
  return static_cast<float>(1.0 - ent / log(static_cast<double>(labels)));
}

// The last step of an exit head for sequence s, from its classifier logits z [labels]
// (before the temperature; z may be out.logits + s * labels itself): the temperature softmax,
// the policy's confidence, the decision and the patience state, all written to `out`.
OFFRAMP_HOST_DEVICE inline void finish_exit(const float* z, int labels, float temperature,
                                            const ExitRule& rule, const ExitOutputs& out,
                                            int s) {
  float* lg = out.logits + static_cast<size_t>(s) * labels;
  float* p = out.probs + static_cast<size_t>(s) * labels;
  temperature_softmax(z, labels, temperature, p);
  for (int k = 0; k < labels; ++k) lg[k] = z[k];
  int arg = 0;
  for (int k = 1; k < labels; ++k)
    if (p[k] > p[arg]) arg = k;
  float conf = p[arg];
  bool leave = false;
  switch (rule.policy) {
    case ExitPolicy::MaxProb:
      leave = static_cast<double>(conf) >= rule.threshold;
      break;
    case ExitPolicy::Entropy:
      conf = normalised_negentropy(p, labels);
      leave = static_cast<double>(conf) >= rule.threshold;
      break;
    case ExitPolicy::Patience: {
      const int unchanged = out.prev_argmax[s] == arg ? out.unchanged[s] + 1 : 0;
      out.unchanged[s] = unchanged;
      leave = unchanged >= rule.patience;
      break;
    }
  }
  out.prev_argmax[s] = arg;
  if (rule.never_exit) leave = false;
  out.label[s] = arg;
  out.confidence[s] = conf;
  out.keep[s] = (leave || rule.final_head) ? 0 : 1;
}

}  // namespace offramp::kernels
