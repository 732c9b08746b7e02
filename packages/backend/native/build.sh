#!/usr/bin/env bash
# Builds kernels.wasm from the kernel sources (common.h; conv-direct.c, batch-norm.c, elementwise.c,
# winograd.c, one op family each, linked into one module) and checks that the binary can safely share tfjs-backend-wasm's memory:
# it imports one shared memory, and has no data, no start function and no use of a stack in that memory.
# Needs clang ≥ 14 with the wasm32 target and wasm-ld (Debian: apt-get install clang lld). The built
# kernels.wasm is committed, so installing or testing the package never needs a C toolchain.
set -euo pipefail
cd "$(dirname "$0")"
clang --target=wasm32 -O3 -msimd128 -matomics -mbulk-memory -nostdlib -ffreestanding \
  -fno-builtin -Wall -Wextra -Werror \
  -Wl,--no-entry -Wl,--import-memory -Wl,--shared-memory -Wl,--max-memory=4294967296 \
  -Wl,--initial-memory=131072 -Wl,-z,stack-size=0 -Wl,--strip-all \
  -o kernels.wasm.tmp conv-direct.c batch-norm.c elementwise.c winograd.c
objdump=$(command -v llvm-objdump || ls /usr/lib/llvm-*/bin/llvm-objdump 2>/dev/null | tail -1)
headers=$("$objdump" -h kernels.wasm.tmp)
if grep -Eq ' (DATA|START) ' <<<"$headers"; then
  echo "build.sh: kernels.wasm has a data or start section; it would write into tfjs's memory" >&2
  echo "$headers" >&2
  rm kernels.wasm.tmp
  exit 1
fi
# (The disassembly is captured first: piped into grep -q, objdump would die of SIGPIPE on a match and
# pipefail would turn the match into a miss.)
disassembly=$("$objdump" -d kernels.wasm.tmp)
if grep -Eq 'global\.(get|set)' <<<"$disassembly"; then
  echo "build.sh: kernels.wasm uses a global (a stack pointer?); kernels must keep temporaries in locals" >&2
  rm kernels.wasm.tmp
  exit 1
fi
mv kernels.wasm.tmp kernels.wasm
echo "built $(pwd)/kernels.wasm ($(wc -c <kernels.wasm) bytes)"
