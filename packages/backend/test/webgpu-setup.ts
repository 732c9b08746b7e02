// Whether the webgpu suites run here. They need a WebGPU adapter: in Node.js, Dawn (the webgpu package) on a
// Vulkan driver, Mesa's lavapipe in CI. Under CI=true a missing adapter fails the suite (see `requireAdapter`);
// elsewhere one line says why it is skipped.
import * as tf from '@tensorflow/tfjs-core';
import { it } from 'vitest';
import { probeWebgpu } from '../src/index.js';

const probe = await probeWebgpu();
const inCi = process.env['CI'] === 'true';

/** Whether the webgpu tests run: an adapter is there. */
export const webgpuReady = probe.ok;

/** The adapter's description, for test names. */
export const adapterName = probe.ok ? probe.adapter.description || probe.adapter.device : 'none';

if (!probe.ok && !inCi) console.log(`webgpu suite skipped (no WebGPU adapter here): ${probe.reason}`);

/** In CI a test that fails with the probe's reason when there is no adapter; nothing elsewhere. */
export function requireAdapter(): void {
  it.runIf(!probe.ok && inCi)('has a WebGPU adapter (CI installs Mesa >= 25 lavapipe: see .ci/run)', () => {
    throw new Error(`no WebGPU adapter in CI: ${probe.ok ? '' : probe.reason}`);
  });
}

/** Runs `compute` inside tidy on `backend` and reads its values with `await data()` (webgpu has no dataSync). */
export async function valuesOn(backend: 'cpu' | 'webgpu', compute: () => tf.Tensor): Promise<Float32Array> {
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} is not initialised`);
  const result = tf.tidy(compute);
  const values = (await result.data()) as Float32Array;
  result.dispose();
  return values;
}
