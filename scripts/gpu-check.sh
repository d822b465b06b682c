#!/usr/bin/env bash
# The GPU checks of the distortion engine, for a machine with an NVIDIA GPU, nvcc and CMake (no Node needed):
# builds the kernels for the local GPU, runs the CPU-vs-CUDA agreement tests and the CUDA throughput bench.
#   bash scripts/gpu-check.sh [LOG_DIR]
set -uo pipefail
log_dir="${1:-build/gpu-logs}"
mkdir -p "$log_dir"
arch="${CUDA_ARCH:-native}"
{
  date -u +"%Y-%m-%dT%H:%M:%SZ"
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.memory --format=csv
  nvcc --version | tail -n 2
} 2>&1 | tee "$log_dir/gpu-info.txt"
cmake -S native -B build/gpu -DCMAKE_CUDA_ARCHITECTURES="$arch" >"$log_dir/configure.txt" 2>&1 || { tail -n 40 "$log_dir/configure.txt"; exit 1; }
cmake --build build/gpu -j"$(nproc)" --target medpsim_cuda_tests cuda_bench >"$log_dir/build.txt" 2>&1 || { tail -n 60 "$log_dir/build.txt"; exit 1; }
echo "== CPU vs CUDA agreement"
timeout 240 build/gpu/medpsim_cuda_tests 2>&1 | tee "$log_dir/cuda-tests.txt"
tests_rc=${PIPESTATUS[0]}
echo "== CUDA throughput"
timeout 240 build/gpu/cuda_bench "${BENCH_BATCH:-32}" 2>&1 | tee "$log_dir/cuda-bench.txt"
bench_rc=${PIPESTATUS[0]}
if command -v compute-sanitizer >/dev/null && [ "${SANITIZE:-1}" = 1 ]; then
  echo "== compute-sanitizer memcheck on the agreement tests"
  timeout "${SANITIZE_TIMEOUT:-150}" compute-sanitizer --tool memcheck --error-exitcode 3 build/gpu/medpsim_cuda_tests >"$log_dir/memcheck.txt" 2>&1
  echo "memcheck rc=$? (124: timed out)"; grep -E "ERROR SUMMARY|Invalid|SKIPPED" "$log_dir/memcheck.txt" | head -n 20
fi
echo "tests rc=$tests_rc bench rc=$bench_rc"
exit $(( tests_rc != 0 || bench_rc != 0 ))
