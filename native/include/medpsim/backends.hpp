// Which backends this build has, and running one step of a chain on one of them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "medpsim/kernels.hpp"

namespace medpsim {

enum class Backend { Cpu, Cuda };

// True when the addon was built with CUDA kernels and the CUDA runtime finds a device.
bool cuda_available();
int cuda_device_count();
// Why CUDA is not available ("" when it is).
std::string cuda_reason();
// Kinds with a CUDA kernel in this build (empty without CUDA), in catalog order.
std::vector<std::string> cuda_kernel_kinds();

// Runs `kernel` with checked parameters on the chosen backend; `out` is allocated by the call.
// On Backend::Cuda the parameters are checked exactly as on the CPU, then a kind without a CUDA kernel
// throws std::invalid_argument("no CUDA kernel for <kind> yet") (never a silent CPU fallback) and CUDA
// errors throw std::runtime_error.
void run_step(Backend backend, const KernelInfo& kernel, const Image& in, Image& out, const Params& params, uint64_t seed,
              int threads);

// One step of a chain, and one image it runs on (planar float in memory the caller keeps alive).
struct ChainStep {
  const KernelInfo* kernel;
  Params params;
};
struct ChainInput {
  const float* data;
  int width, height, channels;
  uint64_t seed;
  // Where the result goes: caller memory of the same size, overlapping no input or other output of the batch
  // (what it held never shows through: every kind writes every sample); null: an image is allocated.
  float* output = nullptr;
};

// Runs every step, in order, on every input with the input's seed; returns the outputs in input order. Every
// step's parameters and image are checked as by run_step before anything runs. On the CPU, step after step on
// `threads` threads; on CUDA, the whole batch on the device (cuda_apply_chain: one copy each way per image,
// copies overlapped with kernels). An input with an `output` gets back a view of it. Throws as run_step.
std::vector<Image> run_chain(Backend backend, const std::vector<ChainStep>& steps, const std::vector<ChainInput>& inputs, int threads);

}  // namespace medpsim
