#!/usr/bin/env bash
# The GPU checks, for a machine with an NVIDIA GPU, nvcc, CMake and python3 with torch (no Node needed):
# builds the kernels for the local GPU, runs the CPU-vs-CUDA agreement tests and the CUDA throughput bench;
# with TRAINING=1 also the training package's tests (its CUDA smoke test runs where torch sees a GPU) and
# a check of exported models with onnxruntime where that is installed; with ZOO=1 the seconds per zoo member
# on the GPU (BENCHMARKS.md, "Generator zoo"); CUDA_CHECKS=0 skips the kernels.
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
if [ "${CUDA_CHECKS:-1}" = 1 ]; then
cmake -S native -B build/gpu -DCMAKE_CUDA_ARCHITECTURES="$arch" >"$log_dir/configure.txt" 2>&1 || { tail -n 40 "$log_dir/configure.txt"; exit 1; }
cmake --build build/gpu -j"$(nproc)" --target medpsim_cuda_tests cuda_bench >"$log_dir/build.txt" 2>&1 || { tail -n 60 "$log_dir/build.txt"; exit 1; }
echo "== CPU vs CUDA agreement"
timeout 240 build/gpu/medpsim_cuda_tests 2>&1 | tee "$log_dir/cuda-tests.txt"
tests_rc=${PIPESTATUS[0]}
echo "== CUDA throughput"
timeout 240 build/gpu/cuda_bench "${BENCH_BATCH:-32}" 2>&1 | tee "$log_dir/cuda-bench.txt"
bench_rc=${PIPESTATUS[0]}
if command -v compute-sanitizer >/dev/null && [ "${SANITIZE:-1}" = 1 ]; then
  # The kinds' and the metrics' tests separately (a test-name filter), each with its own time limit.
  # SANITIZE_PARTS="kinds" (or "metrics") checks one of them.
  for part in "CPU vs CUDA:kinds" "metric:metrics"; do
    case " ${SANITIZE_PARTS:-kinds metrics} " in *" ${part#*:} "*) ;; *) continue ;; esac
    filter="${part%%:*}" name="${part#*:}"
    echo "== compute-sanitizer memcheck on the agreement tests ($name)"
    timeout "${SANITIZE_TIMEOUT:-150}" compute-sanitizer --tool memcheck --error-exitcode 3 build/gpu/medpsim_cuda_tests "$filter" >"$log_dir/memcheck-$name.txt" 2>&1
    echo "memcheck rc=$? (124: timed out)"; grep -E "ERROR SUMMARY|Invalid|SKIPPED" "$log_dir/memcheck-$name.txt" | head -n 20
  done
fi
else
  tests_rc=0 bench_rc=0
fi
training_rc=0
if [ "${TRAINING:-0}" = 1 ]; then
  echo "== training package on $(python3 -c 'import torch; print(torch.__version__, "cuda" if torch.cuda.is_available() else "cpu")')"
  (cd training && PYTHONUNBUFFERED=1 timeout 300 python3 -m unittest discover -s tests -t . 2>&1 | tail -n 30) | tee "$log_dir/training-tests.txt"
  [ "${PIPESTATUS[0]}" = 0 ] && grep -q '^OK' "$log_dir/training-tests.txt" || training_rc=1
  echo "== exported models through onnxruntime"
  data="$(mktemp -d)" models="$(mktemp -d)"
  python3 - "$data" <<'PY'
import sys
sys.path.insert(0, "training/tests")
from helpers import make_kermany  # the tests' synthetic Kermany-layout dataset
make_kermany(sys.argv[1])
PY
  for args in "train-dae --image-size 32" "train-gan --image-size 64" "train-classifier --image-size 64 --batch-size 8"; do
    name="${args%% *}"; name="${name#train-}"
    (cd training && python3 -m medpsim_training $args --data "$data" --epochs 1 --device cuda --out-dir "$models" --name "$name" >/dev/null) &&
      (cd training && python3 -m medpsim_training verify-export --model "$models/$name.onnx" --require-onnxruntime | tail -n 1) | tee -a "$log_dir/onnx-verify.txt" ||
      training_rc=1
  done
fi
if [ "${ZOO:-0}" = 1 ]; then
  # Seconds per zoo member on the GPU (npm run bench:zoo's figure, without Node): the knobs of its first four
  # draws (default ranges, seed 1, printed by bench/zoo.ts), one epoch on 24 phantoms, at 64 and 256 px.
  echo "== zoo members on the GPU"
  for size in 64 256; do
    zoo_data="$(mktemp -d)" zoo_out="$(mktemp -d)"
    python3 - "$zoo_data" "$size" <<'PY'
import sys
sys.path.insert(0, "training/tests")
from helpers import make_kermany
make_kermany(sys.argv[1], size=int(sys.argv[2]))
PY
    while read -r knobs; do
      start=$(date +%s.%N)
      (cd training && python3 -m medpsim_training train-gan --data "$zoo_data" --out-dir "$zoo_out" --name member --device cuda \
        --epochs 1 --image-size "$size" --batch-size 8 $knobs >/dev/null 2>"$log_dir/zoo-last.txt") || { tail -n 5 "$log_dir/zoo-last.txt"; training_rc=1; }
      echo "$size px: $(awk "BEGIN { printf \"%.2f\", $(date +%s.%N) - $start }") s: $knobs" | tee -a "$log_dir/zoo-members.txt"
    done <<'KNOBS'
--input-corruption pink_noise --input-level 0.09038 --objective reconstruct --g-layers 6 --g-skips 1 --g-dropout-layers 1 --g-upsample bilinear --g-norm none --g-first-stride 2 --g-channels 9 --d-layers 2 --w-pixel 75.68 --w-feature 2.097 --w-adv 0.9445 --lr 0.0001058 --seed 0
--input-corruption pink_noise --input-level 0.05502 --objective reconstruct --g-layers 3 --g-skips 2 --g-dropout-layers 2 --g-force-top-skip --g-upsample transpose --g-norm instance --g-first-stride 1 --g-channels 30 --d-layers 2 --w-pixel 40.7 --w-feature 9.69 --w-adv 0.1372 --lr 0.0003105 --seed 1
--input-corruption downsampling --input-level 0.07668 --objective reconstruct --g-layers 3 --g-skips 1 --g-dropout-layers 1 --g-upsample transpose --g-norm instance --g-first-stride 2 --g-channels 28 --d-layers 2 --w-pixel 54.11 --w-feature 3.172 --w-adv 0.08802 --lr 0.0003483 --seed 2
--input-corruption downsampling --input-level 0.1228 --objective reconstruct --g-layers 4 --g-skips 1 --g-dropout-layers 2 --g-upsample nearest --g-norm batch --g-first-stride 2 --g-channels 14 --d-layers 2 --w-pixel 96.8 --w-feature 5.411 --w-adv 0.6371 --lr 0.0001378 --seed 3
KNOBS
  done
fi
echo "tests rc=$tests_rc bench rc=$bench_rc training rc=$training_rc"
exit $(( tests_rc != 0 || bench_rc != 0 || training_rc != 0 ))
