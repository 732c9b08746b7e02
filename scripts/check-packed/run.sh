#!/usr/bin/env bash
# The packed-tarball check: does "install from npm" work? Builds and packs every published package, installs
# the tarballs into a fresh npm project outside the workspace (no workspace links, no hoisting from the
# monorepo), type-checks the examples with skipLibCheck off, trains the Node example for a few steps on
# generated CIFAR-10, saves, loads in a second process and predicts the same, and bundles the browser example
# with Vite and runs it in headless Chromium, on the cpu and the wasm backends. Prints one result line; exits
# non-zero on any failure.
#
#   scripts/check-packed/run.sh            # needs Node 20, pnpm, npm's registry and /usr/bin/chromium
#   KEEP=1 scripts/check-packed/run.sh     # keep the scratch project (its path is printed)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
start=$SECONDS
chromium="${CHROMIUM:-/usr/bin/chromium}"
[ -x "$chromium" ] || { echo "check-packed: $chromium not found; install Debian's chromium (apt-get install -y chromium) or set CHROMIUM" >&2; exit 2; }

# Outside the workspace: a node_modules in any folder above would be found by Node's resolution.
work="$(mktemp -d "${TMPDIR:-/tmp}/resnet-check-packed.XXXXXX")"
case "$work" in "$root"/*) echo "check-packed: the scratch folder $work is inside the workspace" >&2; exit 2 ;; esac
cleanup() { if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "check-packed: kept $work"; fi; }
trap cleanup EXIT
failures=()
fail() { failures+=("$1"); echo "check-packed: FAILED: $1" >&2; }
step() { echo "check-packed: $* ($((SECONDS - start)) s)"; }

step "building the packages"
(cd "$root" && pnpm --silent build >/dev/null)

step "packing"
mkdir -p "$work/tarballs"
packages=(backend shortcuts units models data-cifar trainer)
for p in "${packages[@]}"; do
  (cd "$root/packages/$p" && pnpm pack --pack-destination "$work/tarballs" >/dev/null)
done
node "$here/check-tarballs.mjs" "$work/tarballs" || fail "tarball contents"

step "installing the tarballs into a fresh npm project"
app="$work/app"
mkdir -p "$app"
cp -r "$root/examples/src" "$root/examples/browser" "$root/examples/tsconfig.json" "$here/browser.mjs" "$app/"
rm -f "$app"/browser/tsconfig.workspace.json
node "$here/write-package-json.mjs" "$root" "$work/tarballs" > "$app/package.json"
# npm, as a user runs it; only the npm registry is reached.
(cd "$app" && npm install --no-audit --no-fund --loglevel=error --registry=https://registry.npmjs.org/ >"$work/npm-install.log" 2>&1) \
  || { cat "$work/npm-install.log" >&2; fail "npm install"; exit 1; }
# The packages are copies unpacked from the tarballs, not links into the workspace.
links=$(cd "$app" && find node_modules/@resnet -mindepth 1 -maxdepth 1 -type l | tr '\n' ' ')
[ -z "$links" ] || fail "node_modules/@resnet holds links, not installed copies: $links"
# The project must hold one copy of each TensorFlow.js package: two copies are two engines.
for pkg in tfjs-core tfjs-layers; do
  copies=$(cd "$app" && find node_modules -path "*/@tensorflow/$pkg/package.json" | wc -l)
  [ "$copies" = 1 ] || fail "$copies copies of @tensorflow/$pkg in node_modules (expected one)"
done

step "type-checking the examples (skipLibCheck off)"
types_node=$(cd "$app" && node "$here/check-types.mjs" tsconfig.json) || fail "types of the Node examples"
types_browser=$(cd "$app" && node "$here/check-types.mjs" browser/tsconfig.json --no-emit) || fail "types of the browser example"

step "running the Node examples"
run_node() { # name, then the command's arguments; its output goes to $work/<name>.log
  local name=$1; shift
  if ! (cd "$app" && "$@" >"$work/$name.log" 2>&1); then
    tail -20 "$work/$name.log" >&2; fail "$name"; return 1
  fi
}
model_args=(--preset t1-exclusive-gate-bg-6 --depth 8) # gated shortcuts: the saved model needs @resnet/shortcuts' layers
run_node build-preset node dist/build-preset.js preact-resnet164 || true
run_node custom-unit node dist/custom-unit.js || true
if run_node train node dist/train-cifar.js --synthetic "$work/data" --iterations 4 --batch-size 16 "${model_args[@]}" --out "$work/run"; then
  data_dir="$work/data/cifar-10-batches-bin"
  run_node load node dist/predict.js --run "$work/run" --data-dir "$data_dir" --expect || true
  run_node restore node dist/predict.js --run "$work/run" --data-dir "$data_dir" --expect --from-checkpoint "${model_args[@]}" || true
  # A process that imports TensorFlow.js and @resnet/backend (for file://) only: the error must say which package defines the missing layer.
  run_node unknown-layer node --input-type=module -e "
    import '@resnet/backend';
    import '@tensorflow/tfjs-backend-cpu';
    import { loadLayersModel } from '@tensorflow/tfjs-layers';
    try { await loadLayersModel('file://$work/run/model/model.json'); } catch (e) {
      if (/Unknown layer: @resnet\/shortcuts>/.test(e.message)) process.exit(0);
      console.error(e.message); process.exit(1);
    }
    console.error('loaded a model with custom layers without their package'); process.exit(1);" || true
fi
train_line=$(grep -m1 '^training ' "$work/train.log" 2>/dev/null || echo 'training: no result')
same_line=$(grep -m1 -o 'max |Δ| [^)]*' "$work/load.log" 2>/dev/null || echo 'max |Δ| ?')

step "bundling the browser example with Vite"
if (cd "$app" && npx vite build browser --base ./ --outDir "$work/browser-dist" --emptyOutDir --logLevel warn >"$work/vite.log" 2>&1); then
  # tfjs-backend-wasm's binaries, where the page's wasmPaths points (./wasm/), as the example's README says.
  mkdir -p "$work/browser-dist/wasm"
  cp "$app"/node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$work/browser-dist/wasm/"
  step "running it in headless Chromium (cpu, then wasm)"
  browser_line=$(cd "$app" && node browser.mjs "$work/browser-dist" "$chromium") || fail "browser example"
else
  tail -20 "$work/vite.log" >&2; fail "vite build"
fi

elapsed=$((SECONDS - start))
if [ ${#failures[@]} -eq 0 ]; then
  echo "packed-tarball check: passed in ${elapsed} s — ${#packages[@]} tarballs installed by npm; types: node ${types_node:-?}, browser ${types_browser:-?}; node: ${train_line#training }, saved, reloaded in another process and from final.ckpt with the same predictions (${same_line}); browser: ${browser_line:-?}"
else
  echo "packed-tarball check: FAILED in ${elapsed} s: $(IFS=';'; echo "${failures[*]}")"
  exit 1
fi
