// Backend selection. CUDA kernels live in native/cuda/ and are compiled only where nvcc exists
// (MEDPSIM_WITH_CUDA); until then, and on machines without a GPU, every step runs on the CPU.
#include "medpsim/backends.hpp"

#include <stdexcept>

namespace medpsim {

#ifndef MEDPSIM_WITH_CUDA
bool cuda_available() { return false; }
int cuda_device_count() { return 0; }
std::string cuda_reason() { return "this build of the engine has no CUDA kernels (CPU only)"; }
#endif

void run_step(Backend backend, const KernelInfo& kernel, const Image& in, Image& out, const Params& params, uint64_t seed,
              int threads) {
  if (backend == Backend::Cuda && !cuda_available()) throw std::invalid_argument("CUDA backend: " + cuda_reason());
  kernel.apply(in, out, params, seed, threads);
}

}  // namespace medpsim
