// Which backends this build has, and running one step of a chain on one of them.
#pragma once

#include <cstdint>
#include <string>

#include "medpsim/kernels.hpp"

namespace medpsim {

enum class Backend { Cpu, Cuda };

// True when the addon was built with CUDA kernels and the CUDA runtime finds a device.
bool cuda_available();
int cuda_device_count();
// Why CUDA is not available ("" when it is).
std::string cuda_reason();

// Runs `kernel` with checked parameters on the chosen backend; `out` is allocated by the call.
void run_step(Backend backend, const KernelInfo& kernel, const Image& in, Image& out, const Params& params, uint64_t seed,
              int threads);

}  // namespace medpsim
