// Convolution throughput on the wasm backend: forward Conv2D, @resnet/backend's filter- and input-gradient
// kernels, the stock wasm input-gradient kernel, and the cpu backend for reference, in GFLOP/s
// (2·N·OH·OW·FH·FW·Cin·Cout floating-point operations per call, the same count for all three).
//
//   pnpm --filter @resnet/backend bench            (or: npx tsx --conditions=@resnet/source bench/conv.ts)
//   options: --cpu-shapes <n>  how many shapes also run on cpu (default 1, which takes a few minutes:
//                              the cpu filter gradient runs at ~0.01 GFLOP/s)
//            --seconds <s>     minimum time per measurement (default 1)
//            --clock wall|cpu  wall-clock time (default) or this process's CPU time, steadier on a shared
//                              machine while wasm runs on one thread (with more threads it sums them)
import { parseArgs } from 'node:util';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/index.js';
import { configureNativeKernels } from '../src/internals.js';
import { stockKernel } from '../src/overrides/stock.js';

interface Shape {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  stride: number;
}

const shapes: Shape[] = [
  { x: [128, 32, 32, 16], filter: [3, 3, 16, 16], stride: 1 },
  { x: [128, 16, 16, 32], filter: [3, 3, 32, 32], stride: 1 },
  { x: [128, 8, 8, 64], filter: [3, 3, 64, 64], stride: 1 },
  { x: [128, 32, 32, 16], filter: [3, 3, 16, 32], stride: 2 },
  { x: [128, 32, 32, 16], filter: [1, 1, 16, 32], stride: 2 },
  { x: [128, 32, 32, 64], filter: [1, 1, 64, 16], stride: 1 },
];

// `pnpm bench -- --clock cpu` hands the script a leading '--'.
const args = process.argv.slice(2);
const { values } = parseArgs({
  args: args[0] === '--' ? args.slice(1) : args,
  options: {
    'cpu-shapes': { type: 'string', default: '1' },
    seconds: { type: 'string', default: '1' },
    clock: { type: 'string', default: 'wall' },
  },
});
if (values.clock !== 'wall' && values.clock !== 'cpu')
  throw new Error(`--clock must be 'wall' or 'cpu', got '${values.clock}'`);
/** Seconds on the chosen clock. */
const now =
  values.clock === 'cpu'
    ? () => {
        const { user, system } = process.cpuUsage();
        return (user + system) / 1e6;
      }
    : () => performance.now() / 1000;
const cpuShapes = Number(values['cpu-shapes']);
const minSeconds = Number(values.seconds);

/** Calls `run` (after a warm-up call, if asked) until `seconds` have passed; returns seconds per call. */
function secondsPerCall(run: () => tf.Tensor, seconds: number, warmUp = true): number {
  if (warmUp) run().dispose();
  let calls = 0;
  const start = now();
  let elapsed = 0;
  do {
    // wasm and cpu kernels run synchronously: the result is complete when run() returns, and reading it
    // back (a copy of the whole output into JavaScript) would be timed as well.
    run().dispose();
    calls++;
    elapsed = now() - start;
  } while (elapsed < seconds);
  return elapsed / calls;
}

function withoutNative(run: () => tf.Tensor): tf.Tensor {
  configureNativeKernels({ enabled: false });
  try {
    return run();
  } finally {
    configureNativeKernels({ enabled: true });
  }
}

function gflops(shape: Shape, seconds: number): string {
  const [batch, , , inChannels] = shape.x;
  const [fh, fw, , outChannels] = shape.filter;
  const outHeight = Math.ceil(shape.x[1] / shape.stride);
  const outWidth = Math.ceil(shape.x[2] / shape.stride);
  const flops = 2 * batch * outHeight * outWidth * fh * fw * inChannels * outChannels;
  return (flops / seconds / 1e9).toFixed(2).padStart(7);
}

await initBackend({ backend: 'cpu' });
// XNNPACK on as many threads as the native kernels, so that the columns compare like with like (the fast path
// itself gives XNNPACK one thread when the native kernels run).
const info = await initBackend({ backend: 'wasm', fast: { native: false } });
configureNativeKernels({ enabled: true, threads: info.threads });
// The stock kernel was replaced before the backend started, so its setup (binding its wasm export) never ran.
const stockInput = stockKernel('Conv2DBackpropInput')!;
stockInput.setupFunc?.(tf.backend());
console.log(
  `tfjs-core ${info.versions['@tensorflow/tfjs-core']}, wasm threads ${info.threads}, padding 'same', ${values.clock} clock`,
);
console.log(
  'GFLOP/s         shape                   | ours fwd | xnn fwd |  ours dW | conv dW |  ours dX | xnn dX | stock dX |  cpu fwd |  cpu dW |  cpu dX',
);

for (const [index, shape] of shapes.entries()) {
  const kernels = (backend: 'cpu' | 'wasm') => {
    tf.setBackend(backend);
    const x = tf.randomNormal(shape.x) as tf.Tensor4D;
    const filter = tf.randomNormal(shape.filter) as tf.Tensor4D;
    const dy = tf.conv2d(x, filter, shape.stride, 'same');
    const attrs = { strides: shape.stride, pad: 'same', dataFormat: 'NHWC' };
    return {
      tensors: [x, filter, dy],
      forward: () => tf.conv2d(x, filter, shape.stride, 'same'),
      // Without kernels.c: XNNPACK's Conv2D, and the gradients as XNNPACK convolutions / matrix products.
      xnnForward: () => withoutNative(() => tf.conv2d(x, filter, shape.stride, 'same')),
      convFilterGrad: () =>
        withoutNative(
          () =>
            tf
              .engine()
              .runKernel(
                'Conv2DBackpropFilter',
                { x, dy },
                { ...attrs, filterShape: shape.filter },
              ) as tf.Tensor,
        ),
      xnnInputGrad: () =>
        withoutNative(
          () =>
            tf
              .engine()
              .runKernel(
                'Conv2DBackpropInput',
                { dy, filter },
                { ...attrs, inputShape: shape.x },
              ) as tf.Tensor,
        ),
      filterGrad: () =>
        tf
          .engine()
          .runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: shape.filter }) as tf.Tensor,
      inputGrad: () =>
        tf
          .engine()
          .runKernel('Conv2DBackpropInput', { dy, filter }, { ...attrs, inputShape: shape.x }) as tf.Tensor,
      stockInputGrad: () => {
        const backend = tf.backend() as unknown as BackendWasm;
        const out = stockInput.kernelFunc({
          inputs: { dy, filter },
          attrs: { ...attrs, inputShape: shape.x },
          backend,
        }) as tf.TensorInfo;
        return tf.engine().makeTensorFromTensorInfo(out);
      },
    };
  };
  // Each figure is written as soon as it is measured: the cpu columns take minutes.
  process.stdout.write(`[${shape.x}]×[${shape.filter}] s${shape.stride}`.padEnd(38));
  const wasm = kernels('wasm');
  for (const run of [
    wasm.forward,
    wasm.xnnForward,
    wasm.filterGrad,
    wasm.convFilterGrad,
    wasm.inputGrad,
    wasm.xnnInputGrad,
    wasm.stockInputGrad,
  ]) {
    process.stdout.write(`|  ${gflops(shape, secondsPerCall(run, minSeconds))} `);
  }
  tf.dispose(wasm.tensors);
  if (index < cpuShapes) {
    const cpu = kernels('cpu');
    // One call each, no warm-up: the cpu backend takes seconds (filter gradient: about a minute) per call.
    for (const run of [cpu.forward, cpu.filterGrad, cpu.inputGrad]) {
      process.stdout.write(`|  ${gflops(shape, secondsPerCall(run, 0, false))} `);
    }
    tf.dispose(cpu.tensors);
  } else {
    process.stdout.write('|        - |        - |        - ');
  }
  process.stdout.write('\n');
}
