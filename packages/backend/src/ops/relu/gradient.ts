// The gradient of ReLU in one pass on wasm: tfjs computes it as dy · cast(step(x)), three kernels and two
// temporary tensors the size of the activation; native/elementwise.c's relu_grad computes the same values
// (step(x) is 1 for x > 0, 0 otherwise, NaN for NaN; the product keeps dy's NaN) in one pass on every thread.
// Elsewhere (cpu, tensorflow, wasm without the native kernels) the gradient is tfjs's own formula.
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { nativeKernelsOfBackend, wasmPointer } from '../../runtime/platform.js';

/** Kernel name; prefixed so that it cannot collide with tfjs's own. */
export const ReluGradKernel = 'ResnetReluGrad';

function reluGrad(args: { inputs: Record<string, tf.TensorInfo>; backend: BackendWasm }): tf.TensorInfo {
  const { inputs, backend } = args;
  const dy = inputs['dy']!;
  const x = inputs['x']!;
  const native = nativeKernelsOfBackend(backend);
  if (native === null)
    throw new Error(`${ReluGradKernel}: the native kernels are not running on this backend`);
  const out = backend.makeOutput(x.shape, 'float32');
  native.run('relu_grad', [
    wasmPointer(backend, dy),
    wasmPointer(backend, x),
    wasmPointer(backend, out),
    tf.util.sizeFromShape(x.shape),
  ]);
  return out;
}

export const reluGradKernelConfig: tf.KernelConfig = {
  kernelName: ReluGradKernel,
  backendName: 'wasm',
  kernelFunc: reluGrad as unknown as tf.KernelFunc,
};

/** Whether the one-pass kernel can run for these tensors on the active backend. */
function onePass(dy: tf.Tensor, x: tf.Tensor): boolean {
  return (
    tf.getBackend() === 'wasm' &&
    dy.dtype === 'float32' &&
    x.dtype === 'float32' &&
    nativeKernelsOfBackend(tf.backend()) !== null
  );
}

export const reluGradConfig: tf.GradConfig = {
  kernelName: tf.Relu,
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => {
    const [x] = saved as [tf.Tensor];
    const gradient = dy as tf.Tensor;
    return {
      x: () =>
        onePass(gradient, x)
          ? (tf.engine().runKernel(ReluGradKernel, { dy: gradient, x }) as tf.Tensor)
          : tf.mul(gradient, tf.cast(tf.step(x), 'float32')),
    };
  },
};
