// Registers TensorFlow.js's 'webgpu' backend on the GPU of ./gpu.ts, and takes it down again. The factory is
// ours rather than the one tfjs-backend-webgpu registers as it loads: that one is only registered when
// navigator.gpu exists at import time (in Node.js it does not, until Dawn is loaded), and only once per process,
// so a backend disposed by disposeWebgpu could never start again. Its backend is tfjs's, except that a synchronous
// read in Node.js (which tfjs does through an OffscreenCanvas) fails with a message that says what to do.
import * as tf from '@tensorflow/tfjs-core';
import {
  type AdapterLike,
  describeAdapter,
  disposeWebgpuGpu,
  requestAdapter,
  type WebgpuAdapter,
} from './gpu.js';

/** The members of tfjs-backend-webgpu's WebGPUBackend read here. */
interface WebgpuBackendLike {
  device: { destroy(): void };
}

let adapterInUse: WebgpuAdapter | undefined;

/** What a synchronous read on webgpu in Node.js says, in place of tfjs's `OffscreenCanvas is not defined`. */
export const syncReadMessage =
  "@resnet/backend: dataSync()/arraySync() cannot read a tensor of the 'webgpu' backend in Node.js (tfjs reads " +
  'GPU buffers synchronously through an OffscreenCanvas, which Node.js has not): read it with `await tensor.data()` ' +
  '(or `await tensor.array()`) instead';

/**
 * Makes sure tfjs's 'webgpu' backend factory is registered on this process's GPU and returns the adapter it will
 * run on. Throws, saying what is missing, when there is no GPU object or no adapter.
 */
export async function loadWebgpuBackend(): Promise<WebgpuAdapter> {
  const found = await requestAdapter();
  if (!('adapter' in found))
    throw new Error(`@resnet/backend: the 'webgpu' backend is not usable: ${found.reason}`);
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  /** tfjs's backend, with a synchronous read that fails saying what to do instead. */
  class Backend extends WebGPUBackend {
    override readSync(dataId: object): ReturnType<InstanceType<typeof WebGPUBackend>['readSync']> {
      try {
        return super.readSync(dataId);
      } catch (error) {
        if (error instanceof ReferenceError && error.message.includes('OffscreenCanvas')) {
          throw new Error(syncReadMessage);
        }
        throw error;
      }
    }
  }
  const adapter = found.adapter;
  adapterInUse = describeAdapter(adapter, found.runtime);
  if (tf.engine().registry['webgpu'] !== undefined) return adapterInUse;
  // Replaces tfjs's own factory (if its import registered one) before anything instantiated it.
  if (tf.findBackendFactory('webgpu') != null) tf.removeBackend('webgpu');
  tf.registerBackend(
    'webgpu',
    async () => {
      // As tfjs-backend-webgpu's own factory (4.22.0, src/base.ts): the adapter's limits, timestamp queries
      // when offered (perf --profile reads kernel times from them).
      const limits = adapter.limits as Record<string, number>;
      const features = new Set(adapter.features);
      const device = await adapter.requestDevice({
        requiredFeatures: ['timestamp-query', 'bgra8unorm-storage'].filter((name) => features.has(name)),
        requiredLimits: {
          maxComputeWorkgroupStorageSize: limits['maxComputeWorkgroupStorageSize'],
          maxComputeWorkgroupsPerDimension: limits['maxComputeWorkgroupsPerDimension'],
          maxStorageBufferBindingSize: limits['maxStorageBufferBindingSize'],
          maxBufferSize: limits['maxBufferSize'],
          maxComputeWorkgroupSizeX: limits['maxComputeWorkgroupSizeX'],
          maxComputeInvocationsPerWorkgroup: limits['maxComputeInvocationsPerWorkgroup'],
        },
      });
      return new Backend(
        device as ConstructorParameters<typeof WebGPUBackend>[0],
        (adapter as AdapterLike & { info: unknown }).info as ConstructorParameters<typeof WebGPUBackend>[1],
      );
    },
    // The lowest priority: registering it must not change which backend tfjs picks by itself (initBackend
    // sets the backend explicitly).
    0,
  );
  return adapterInUse;
}

/** The adapter the webgpu backend was last loaded on. */
export function webgpuAdapterInUse(): WebgpuAdapter | undefined {
  return adapterInUse;
}

/**
 * Releases everything WebGPU holds, so that Node.js can exit: the 'webgpu' backend's buffers and textures (tfjs's
 * `removeBackend` disposes them), its GPUDevice (destroyed), and the GPU object with `navigator.gpu`. Tensors
 * still on the webgpu backend are lost. Safe to call when WebGPU was never used; initBackend({ backend:
 * 'webgpu' }) works again afterwards.
 */
export async function disposeWebgpu(): Promise<void> {
  const backend = tf.engine().registry['webgpu'] as unknown as WebgpuBackendLike | undefined;
  if (tf.findBackendFactory('webgpu') != null || backend !== undefined) tf.removeBackend('webgpu');
  backend?.device.destroy();
  adapterInUse = undefined;
  await disposeWebgpuGpu();
}
