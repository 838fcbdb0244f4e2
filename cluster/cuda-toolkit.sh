#!/usr/bin/env bash
# A CUDA 13.0 toolkit from the Python package index, for building eigensweep's `cuda` feature
# on a machine without one (CI, a login node without a CUDA module). Prints the variables to
# export; use it as
#
#   eval "$(cluster/cuda-toolkit.sh [--link] [DIR])"
#   cargo check --features cuda            # compiles candle's kernels: needs nvcc only
#   cargo build --release --features cuda  # with --link: also the libraries to link against
#
# DIR defaults to /var/tmp/eigensweep-cuda-13.0 and is reused when already filled. Without
# --link it holds nvcc, NVVM and the headers (≈ 150 MB of wheels); with --link also cuBLAS,
# cuRAND, NVRTC and the runtime library (≈ 700 MB), plus a link-time stand-in for the driver
# library libcuda.so, which only the NVIDIA driver provides: the binary loads the real one on
# the GPU node. A binary linked this way needs CUDA 13 libraries (libcublas.so.13, …) and a
# driver ≥ 580 where it runs (LD_LIBRARY_PATH, or a PyTorch cu13 environment's nvidia/cu13/lib).
#
# CUDA_COMPUTE_CAP (default 90: H100/H200) picks the GPU the kernels are compiled for when no
# GPU is present to ask; candle JIT-compiles its PTX for newer GPUs at start.
set -euo pipefail
link=0
if [ "${1:-}" = "--link" ]; then
  link=1
  shift
fi
dir=${1:-/var/tmp/eigensweep-cuda-13.0}
version=13.0.88
wheels=(nvidia-cuda-nvcc==$version nvidia-nvvm==$version nvidia-cuda-crt==$version
  nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85)
if [ $link = 1 ]; then
  wheels+=(nvidia-cublas==13.0.2.14 nvidia-curand==10.4.5.25 nvidia-cuda-nvrtc==$version)
fi
root="$dir/nvidia/cu13"
stamp="$dir/.complete-$link"
if [ ! -e "$stamp" ] && { [ $link = 0 ] || [ ! -e "$dir/.complete-1" ]; }; then
  mkdir -p "$dir/wheels"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux2010_x86_64 -d "$dir/wheels" "${wheels[@]}" >&2
  for w in "$dir"/wheels/*.whl; do
    python3 -m zipfile -e "$w" "$dir" >&2
  done
  chmod +x "$root"/bin/* "$root"/nvvm/bin/* 2>/dev/null || true
  if [ $link = 1 ]; then
    # Unversioned names for the linker, as a CUDA toolkit's lib64 has them.
    for l in cublas cublasLt cudart nvrtc; do ln -sf "lib$l.so.13" "$root/lib/lib$l.so"; done
    ln -sf libcurand.so.10 "$root/lib/libcurand.so"
    # libcuda.so comes with the driver, not the toolkit: link against a stub that defines the
    # driver entry points cudarc calls (names read from its bindings) with the real soname.
    mkdir -p "$root/lib/stubs"
    src=$(find "${CARGO_HOME:-$HOME/.cargo}"/registry/src -path '*cudarc-*/src/driver/sys/*' -name '*.rs' 2>/dev/null | head -50)
    {
      echo '/* link-time stand-in for the NVIDIA driver library; never loaded */'
      # shellcheck disable=SC2086
      grep -hoE '\bcu[A-Z][A-Za-z0-9_]*\b' $src /dev/null | sort -u | sed 's/.*/void &(void) {}/'
    } >"$root/lib/stubs/libcuda.c"
    cc -shared -fPIC -o "$root/lib/stubs/libcuda.so" -Wl,-soname,libcuda.so.1 "$root/lib/stubs/libcuda.c"
  fi
  touch "$stamp"
fi
"$root/bin/nvcc" --version | tail -1 >&2
echo "export CUDA_HOME=$root"
echo "export PATH=$root/bin:\$PATH"
echo "export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}"
if [ $link = 1 ] || [ -e "$dir/.complete-1" ]; then
  echo "export RUSTFLAGS=\"\${RUSTFLAGS:-} -L $root/lib -L $root/lib/stubs\""
fi
