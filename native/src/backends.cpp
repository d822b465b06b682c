// Backend selection. CUDA kernels live in native/cuda/ and are compiled only where nvcc exists
// (MEDPSIM_WITH_CUDA); without them, and on machines without a GPU, only the CPU backend exists.
#include "medpsim/backends.hpp"

#include <stdexcept>

#ifdef MEDPSIM_WITH_CUDA
#include "medpsim/cuda.hpp"
#endif

namespace medpsim {

#ifdef MEDPSIM_WITH_CUDA
namespace {
struct Probe {
  int count;
  std::string reason;
};
// Probed once: the device count does not change while the process runs, and the first CUDA call is slow.
const Probe& probe() {
  static const Probe result = [] {
    Probe p;
    p.count = cuda_probe(p.reason);
    return p;
  }();
  return result;
}
}  // namespace

bool cuda_available() { return probe().count > 0; }
int cuda_device_count() { return probe().count; }
std::string cuda_reason() { return probe().reason; }
std::vector<std::string> cuda_kernel_kinds() { return cuda_kinds(); }
#else
bool cuda_available() { return false; }
int cuda_device_count() { return 0; }
std::string cuda_reason() { return "this build of the engine has no CUDA kernels (CPU only)"; }
std::vector<std::string> cuda_kernel_kinds() { return {}; }
#endif

void run_step(Backend backend, const KernelInfo& kernel, const Image& in, Image& out, const Params& params, uint64_t seed,
              int threads) {
  if (backend == Backend::Cpu) return kernel.apply(in, out, params, seed, threads);
  if (!cuda_available()) throw std::invalid_argument("CUDA backend: " + cuda_reason());
#ifdef MEDPSIM_WITH_CUDA
  kernel.check(in, out, params);
  if (!cuda_has_kernel(kernel.kind)) throw std::invalid_argument("no CUDA kernel for " + kernel.kind + " yet");
  cuda_apply(kernel.kind, in, out, params, seed);
#endif
}

std::vector<Image> run_chain(Backend backend, const std::vector<ChainStep>& steps, const std::vector<ChainInput>& inputs, int threads) {
  std::vector<Image> outputs;
  outputs.reserve(inputs.size());
  if (backend == Backend::Cpu) {
    for (const ChainInput& input : inputs) {
      // The first step reads the caller's memory in place (never written).
      Image current = Image::view(const_cast<float*>(input.data), input.width, input.height, input.channels);
      for (size_t s = 0; s < steps.size(); ++s) {
        const ChainStep& step = steps[s];
        const bool last = s + 1 == steps.size();
        Image next = last && input.output ? Image::view(input.output, input.width, input.height, input.channels) : Image();
        step.kernel->apply(current, next, step.params, input.seed, threads);
        current = std::move(next);
      }
      outputs.push_back(std::move(current));
    }
    return outputs;
  }
  if (!cuda_available()) throw std::invalid_argument("CUDA backend: " + cuda_reason());
#ifdef MEDPSIM_WITH_CUDA
  std::vector<CudaStep> cuda_steps;
  for (const ChainStep& step : steps) cuda_steps.push_back({step.kernel->kind, step.params});
  std::vector<CudaItem> items;
  for (const ChainInput& input : inputs) {
    const Image in = Image::view(const_cast<float*>(input.data), input.width, input.height, input.channels);
    outputs.push_back(input.output ? Image::view(input.output, input.width, input.height, input.channels)
                                   : Image::allocate(input.width, input.height, input.channels));
    for (const ChainStep& step : steps) step.kernel->check(in, outputs.back(), step.params);  // every kind keeps the shape
    items.push_back({input.data, outputs.back().data(), input.width, input.height, input.channels, input.seed});
  }
  cuda_apply_chain(cuda_steps, items, threads);
#endif
  return outputs;
}

}  // namespace medpsim
