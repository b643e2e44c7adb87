#!/usr/bin/env bash
# make_bundle.sh — build `dontpanic` for a GPU machine that has none of our Debian libraries.
#
# Writes .gpubundle/bin/dontpanic and .gpubundle/lib/*.so* (the shared libraries it needs beyond
# glibc, libstdc++ and the Vulkan loader), and fetches the Vulkan loader package into .gl/ (the
# device tool's recipe). Both folders are git-ignored; name them in the device run's `carry`.
# The build targets generic x86-64 (RelWithDebInfo, no -march=native): the GPU machine's CPU is
# not this one. shaderc/glslang are linked statically, so no shader compiler library travels.
#
#   bench/gpu/make_bundle.sh          then: run bench/gpu/run_on_gpu_machine.sh there
#   DP_BUNDLE_MARCH=x86-64-v4 bench/gpu/make_bundle.sh
#                                     for CPU labs whose kernels are compiled for the build's SIMD
#                                     width (our fp32 GEMM): AVX-512, which the GPU machine's Xeon has
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=build/h-gpu-bundle${DP_BUNDLE_MARCH:+-$DP_BUNDLE_MARCH}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O3 -DNDEBUG -g0${DP_BUNDLE_MARCH:+ -march=$DP_BUNDLE_MARCH}" -DBUILD_TESTING=OFF >/dev/null
ninja -C "$build" -j2 dontpanic

rm -rf .gpubundle
mkdir -p .gpubundle/bin .gpubundle/lib
cp "$build/dontpanic" .gpubundle/bin/
strip .gpubundle/bin/dontpanic
# Every resolved library except the C runtime, the C++ runtime (the GPU machine's is newer and
# compatible) and the Vulkan loader (it comes from .gl, as the device README prescribes).
ldd "$build/dontpanic" | awk '/=> \// {print $3}' | while read -r lib; do
  case "$(basename "$lib")" in
    libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|libstdc++.so*|libgcc_s.so*|libvulkan.so*) ;;
    *) cp -L "$lib" .gpubundle/lib/ ;;
  esac
done

# The Vulkan loader (and GL/EGL dispatch libraries), Debian's amd64 packages, per the device README.
mkdir -p .gl /tmp/amd64/partial .git/info
grep -qx '/.gl/' .git/info/exclude 2>/dev/null || echo /.gl/ >> .git/info/exclude
grep -qx '/.gpubundle/' .git/info/exclude 2>/dev/null || echo /.gpubundle/ >> .git/info/exclude
if ! ls .gl/libvulkan1_*.deb >/dev/null 2>&1; then
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update >/dev/null
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh .gpubundle .gl
ls .gpubundle/lib
