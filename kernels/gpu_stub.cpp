// The GPU interface in a build without the CUDA backend: no device, and every op says why.
#include "kernels/gpu.h"

namespace offramp::kernels::gpu {

namespace {
[[noreturn]] void none(const char* op) { no_cuda(op); }
}  // namespace

int device_count() { return 0; }
std::string device_description() { none("gpu::device_description"); }

Buffer::Buffer(size_t, const char*) { none("gpu::Buffer"); }
Buffer::Buffer(Buffer&& o) noexcept : p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr, o.bytes_ = 0; }
Buffer& Buffer::operator=(Buffer&& o) noexcept {
  p_ = o.p_, bytes_ = o.bytes_, o.p_ = nullptr, o.bytes_ = 0;
  return *this;
}
Buffer::~Buffer() = default;

struct Stream::Impl {};
Stream::Stream() { none("gpu::Stream"); }
Stream::~Stream() = default;
void Stream::synchronize() { none("gpu::Stream::synchronize"); }

void run_graph(Stream&, const std::string&, const std::function<void()>&) {
  none("gpu::run_graph");
}
void copy_to_device(Stream&, void*, const void*, size_t) { none("gpu::copy_to_device"); }
void copy_to_host(Stream&, void*, const void*, size_t) { none("gpu::copy_to_host"); }
void* pinned(Stream&, size_t) { none("gpu::pinned"); }
void convert_from_f32(Stream&, DType, const float*, void*, size_t) {
  none("gpu::convert_from_f32");
}
void convert_to_f32(Stream&, DType, const void*, float*, size_t) { none("gpu::convert_to_f32"); }
void linear(Stream&, DType, const void*, const void*, const void*, void*, int, int, int, Epilogue) {
  none("gpu::linear");
}
void embed_layer_norm(Stream&, DType, const int32_t*, const int32_t*, int, const void*, const void*,
                      const void*, const void*, const void*, float, void*, int) {
  none("gpu::embed_layer_norm");
}
void add_layer_norm(Stream&, DType, void*, const void*, const void*, const void*, int, int, float) {
  none("gpu::add_layer_norm");
}
void bias_activation(Stream&, DType, void*, const void*, int, int, Activation) {
  none("gpu::bias_activation");
}
void packed_attention(Stream&, DType, const void*, const int*, int, int, int, int, void*, bool) {
  none("gpu::packed_attention");
}
void exit_head(Stream&, DType, const void*, const int*, int, int, const ExitHeadDevice&,
               const ExitRule&, void*, void*, const ExitOutputs&) {
  none("gpu::exit_head");
}
size_t compaction_scratch_bytes(int) { return 0; }
void compact_sequences(Stream&, DType, const void*, void*, int, const int*, int, int,
                       const unsigned char*, int*, int*, int, int*, void*, size_t) {
  none("gpu::compact_sequences");
}
void poison(Stream&, DType, void*, size_t) { none("gpu::poison"); }

}  // namespace offramp::kernels::gpu
