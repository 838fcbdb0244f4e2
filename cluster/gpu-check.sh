#!/usr/bin/env bash
# The GPU check: on a GPU node, build eigensweep with CUDA, run the GPU tests (which fail
# rather than skip here) and a short GPU benchmark. About 5 minutes on one H100/H200 once the
# build is cached (the first `cuda` build compiles candle's kernels: ~10 min on 2 cores).
#
#   cluster/gpu-check.sh [OUT_DIR]                 # OUT_DIR default: gpu-check-<host>
#   sbatch --gpus-per-task=1 --cpus-per-task=8 --time=0:30:00 --wrap 'cluster/gpu-check.sh'
#
# Environment:
#   MNIST_DIR            the 60,000-digit MNIST IDX files for the benchmark (default:
#                        $EIGENSWEEP_TEST_MNIST_FULL_DIR, else ../shared/data/mnist)
#   GPU_CHECK_PREBUILT   a folder holding `eigensweep` and the test binaries `cuda` and
#                        `device_cli` built elsewhere with `--release --features cuda`
#                        (for a node without cargo); see cluster/README.md
#   GPU_CHECK_QUICK=1    the benchmark's --quick sizes
#   CUDA_HOME, CUDA_COMPUTE_CAP   as for any `cuda` build (cluster/README.md)
#
# Writes OUT_DIR/{nvidia-smi.txt, tests.log, bench.md, bench.log}; exit status non-zero if a
# test or the benchmark failed.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
out=${1:-gpu-check-$(hostname -s 2>/dev/null || echo node)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
status=0
started=$(date +%s)

echo "== GPU"
if ! nvidia-smi --query-gpu=index,name,driver_version,memory.total,compute_cap --format=csv \
  | tee "$out/nvidia-smi.txt"; then
  echo "nvidia-smi failed: no GPU driver on this node" >&2
  exit 1
fi
grep -m1 'model name' /proc/cpuinfo | tee -a "$out/nvidia-smi.txt"

echo "== binaries"
if [ -n "${GPU_CHECK_PREBUILT:-}" ]; then
  bin_dir=$(cd "$GPU_CHECK_PREBUILT" && pwd)
  bin="$bin_dir/eigensweep"
  tests=("$bin_dir/cuda" "$bin_dir/device_cli")
else
  : "${CUDA_COMPUTE_CAP:=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d .)}"
  export CUDA_COMPUTE_CAP
  cargo build --release --features cuda -p eigensweep --bin eigensweep || exit 1
  bin_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release
  bin="$bin_dir/eigensweep"
  tests=()
  for t in "-p eigensweep-worker --test cuda" "-p eigensweep --test device_cli"; do
    # shellcheck disable=SC2086
    path=$(cargo test --release --features cuda $t --no-run --message-format=json 2>/dev/null \
      | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m.get("executable"):
        print(m["executable"])' | tail -1)
    [ -n "$path" ] || { echo "could not build test $t" >&2; exit 1; }
    tests+=("$path")
  done
fi
"$bin" --version

echo "== GPU tests (EIGENSWEEP_REQUIRE_CUDA=1: a missing GPU fails them)"
export EIGENSWEEP_REQUIRE_CUDA=1 EIGENSWEEP_TEST_BIN="$bin" EIGENSWEEP_TEST_REPO="$repo"
: >"$out/tests.log"
for t in "${tests[@]}"; do
  echo "-- $(basename "$t")" | tee -a "$out/tests.log"
  if ! "$t" --test-threads 1 --nocapture 2>&1 | tee -a "$out/tests.log"; then
    status=1
  fi
done

echo "== GPU benchmark"
mnist=${MNIST_DIR:-${EIGENSWEEP_TEST_MNIST_FULL_DIR:-$repo/../shared/data/mnist}}
quick=()
[ "${GPU_CHECK_QUICK:-0}" = 1 ] && quick=(--quick)
rm -f "$out/bench.md"
if ! "$bin" bench --gpu "${quick[@]}" --mnist-dir "$mnist" --write "$out/bench.md" 2>&1 \
  | tee "$out/bench.log"; then
  status=1
fi

echo "== done in $(( $(date +%s) - started )) s, status $status; results in $out"
exit $status
