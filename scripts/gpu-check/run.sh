#!/usr/bin/env bash
# Runs the GPU check from the folder build.mjs made (this script's folder), in under 8 minutes on one GPU:
#   1. the WebGPU adapter Dawn finds (and the backends auto would choose from)
#   2. every kernel of a ResNet training step on webgpu against the cpu backend, over the kernel tests' geometries
#   3. perf --backend webgpu --models preact-resnet110,preact-resnet164 --vs-pytorch, PyTorch on CUDA, --profile
#      (the per-kernel profile of one ResNet-110 and one ResNet-164 training step)
#   4. 200 iterations of Table 2's full pre-activation ResNet-110 row on generated data (batch 128)
# and writes $OUT/gpu-check.json (every step's result, exit status and seconds) and $OUT/gpu-check.log.
# Needs: Linux x86-64, xz or python3, a Vulkan driver (the NVIDIA driver's ICD is found under /usr/local/nvidia),
# python3 with torch for step 3. Without $OUT it writes to ./out.
#   --local   the same commands scaled down for a software adapter (lavapipe): every 4th geometry, ResNet-20 and
#             PyTorch on the CPU in step 3, ResNet-8 at batch 8 for 10 iterations in step 4
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/out}
local=0
[ "${1:-}" = --local ] && local=1
mkdir -p "$out"
log=$out/gpu-check.log
: >"$log"
exec > >(tee -a "$log") 2>&1
work=$(mktemp -d)
started=$(date +%s)
echo "gpu-check: $(date -u +%FT%TZ) on $(uname -srm); folder $(sed -n 's/.*"commit": "\(.*\)".*/\1/p' "$here/manifest.json")"

expand() { # expand FILE.xz FILE: xz if there is one, else Python's lzma
  if command -v xz >/dev/null; then xz -dc "$1" >"$2"; else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi
}
expand "$here/node.xz" "$work/node" && chmod +x "$work/node"
dawn=$here/node_modules/webgpu/dist/linux-x64/dawn.node
[ -f "$dawn" ] || expand "$dawn.xz" "$dawn"
node=$work/node
echo "node $("$node" --version)"

# The Vulkan loader: the machine's own if it has one, else the carried Debian packages.
if ! ldconfig -p | grep -q 'libvulkan.so.1 '; then
  echo "no libvulkan.so.1: unpacking $(ls "$here"/debs | tr '\n' ' ')"
  for f in "$here"/debs/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
nvidia=/usr/local/nvidia/share
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$nvidia/vulkan/icd.d/nvidia_icd.json" ]; then
  export VK_DRIVER_FILES=$nvidia/vulkan/icd.d/nvidia_icd.json
  [ -f "$nvidia/glvnd/egl_vendor.d/10_nvidia.json" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$nvidia/glvnd/egl_vendor.d/10_nvidia.json
fi
command -v nvidia-smi >/dev/null && nvidia-smi -L

cd "$here" || exit 1
step() { # step NAME SECONDS COMMAND…: runs it with a time limit, keeps its stdout as $work/NAME.out
  local name=$1 limit=$2 begin rc
  shift 2
  echo "== $name (limit ${limit}s): $*"
  begin=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" >"$work/$name.out"
  rc=$?
  cat "$work/$name.out"
  echo "{\"rc\": $rc, \"seconds\": $(($(date +%s) - begin))}" >"$work/$name.status"
  echo "== $name: exit $rc after $(($(date +%s) - begin)) s"
}

if [ "$local" = 1 ]; then
  step adapter 60 "$node" app/check.mjs adapter
  step kernels 300 "$node" app/check.mjs kernels --every 4
  step perf 400 "$node" app/bench.mjs perf --backend webgpu --models preact-resnet20 --batch 16 --steps 1 --warmup 1 \
    --vs-pytorch --pytorch-device cpu --python python3,/usr/bin/python3 --profile --json
  step train 300 "$node" app/check.mjs train --depth 8 --batch 8 --iterations 10 --log-every 5
else
  # Limits add up to 440 s, so that the whole check ends inside 8 minutes whatever hangs.
  step adapter 30 "$node" app/check.mjs adapter
  step kernels 90 "$node" app/check.mjs kernels
  step perf 170 "$node" app/bench.mjs perf --backend webgpu --models preact-resnet110,preact-resnet164 \
    --vs-pytorch --pytorch-device cuda --python python3 --profile --json
  step train 150 "$node" app/check.mjs train --iterations 200 --batch 128 --log-every 20
fi

# One JSON file: each step's exit status, seconds and result (its JSON output; the raw text if it printed none).
"$node" -e '
  const fs = require("node:fs");
  const [work, outFile, local, started] = process.argv.slice(1);
  const steps = {};
  for (const name of ["adapter", "kernels", "perf", "train"]) {
    const status = JSON.parse(fs.readFileSync(`${work}/${name}.status`, "utf8"));
    const text = fs.readFileSync(`${work}/${name}.out`, "utf8").trim();
    let result;
    try { result = JSON.parse(text); } catch { try { result = JSON.parse(text.split("\n").at(-1)); } catch { result = { raw: text.slice(-4000) }; } }
    steps[name] = { ...status, result };
  }
  const manifest = JSON.parse(fs.readFileSync("manifest.json", "utf8"));
  const report = { local: local === "1", started: new Date(Number(started) * 1000).toISOString(), seconds: Math.round(Date.now() / 1000 - Number(started)), folder: manifest, steps };
  fs.writeFileSync(outFile, JSON.stringify(report, null, 2) + "\n");
  const failed = Object.entries(steps).filter(([, s]) => s.rc !== 0).map(([n]) => n);
  console.log(`gpu-check: ${failed.length === 0 ? "every step passed" : "failed: " + failed.join(", ")}; ${outFile}`);
  process.exitCode = failed.length === 0 ? 0 : 1;
' "$work" "$out/gpu-check.json" "$local" "$started"
status=$?
rm -rf "$work"
exit "$status"
