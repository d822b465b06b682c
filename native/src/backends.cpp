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

}  // namespace medpsim
