// The GPU check's own program (bundled by build.mjs into check.mjs; run by run.sh beside the bundled bench):
//   adapter                      the WebGPU adapter Dawn finds, and what listBackends and auto say
//   kernels [--every N]          every kernel of a ResNet training step on webgpu against the cpu backend, over
//                                the geometry table of packages/backend's kernel tests (every Nth geometry)
//   train [--row ID] [--iterations N] [--batch N] [--log-every N] [--depth D]
//                                N iterations of one Table 2 row's network on generated data on webgpu
//                                (--depth: the row's network at another depth, for a software adapter),
//                                with @resnet/trainer's SGD; losses read with `await data()` every log interval
// Each prints one JSON object on its last line of stdout; progress goes to stderr.
import { disposeWebgpu, initBackend, listBackends, probeWebgpu, resolveAutoBackend } from '@resnet/backend';
import { getPreset, resnet } from '@resnet/models';
import { MomentumSgd, scaledPaperSchedule } from '@resnet/trainer';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { describeGeometry, grid } from '../../packages/backend/test/geometry.js';
import { relativeError } from '../../packages/backend/test/helpers.js';
import { trainingKernelCases } from '../../packages/backend/test/webgpu-cases.js';

/** The relative error every kernel comparison of packages/backend's suites allows. */
const TOLERANCE = 1e-5;

function option(args: string[], name: string, fallback: number): number;
function option(args: string[], name: string, fallback: string): string;
function option(args: string[], name: string, fallback: number | string): number | string {
  const index = args.indexOf(name);
  if (index === -1) return fallback;
  const value = args[index + 1];
  if (value === undefined) throw new Error(`${name} needs a value`);
  if (typeof fallback === 'number') {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 1)
      throw new Error(`${name}: expected a positive integer, got '${value}'`);
    return parsed;
  }
  return value;
}

async function adapter(): Promise<Record<string, unknown>> {
  const probe = await probeWebgpu();
  const backends = await listBackends();
  const auto = await resolveAutoBackend();
  return {
    ok: probe.ok,
    ...(probe.ok ? { adapter: probe.adapter } : { reason: probe.reason }),
    backends: backends.map(({ name, package: pkg, usable, gpu, detail }) => ({
      name,
      package: pkg,
      usable,
      gpu,
      detail,
    })),
    auto: auto.name,
  };
}

async function valuesOn(backend: 'cpu' | 'webgpu', compute: () => tf.Tensor): Promise<Float32Array> {
  await tf.setBackend(backend);
  const result = tf.tidy(compute);
  const values = (await result.data()) as Float32Array;
  result.dispose();
  return values;
}

async function kernels(args: string[]): Promise<Record<string, unknown>> {
  const every = option(args, '--every', 1);
  await initBackend({ backend: 'cpu' });
  const info = await initBackend({ backend: 'webgpu' });
  const geometries = grid.filter((_, index) => index % every === 0);
  const rows: Array<{ kernel: string; geometries: number; maxError: number; failures: string[] }> = [];
  const started = performance.now();
  for (const [kernel, makeCase] of Object.entries(trainingKernelCases)) {
    let maxError = 0;
    const failures: string[] = [];
    for (const geometry of geometries) {
      const compute = makeCase(geometry);
      const expected = await valuesOn('cpu', compute);
      const actual = await valuesOn('webgpu', compute);
      const error = relativeError(actual, expected);
      maxError = Math.max(maxError, Number.isNaN(error) ? Number.POSITIVE_INFINITY : error);
      if (!(error < TOLERANCE)) failures.push(`${describeGeometry(geometry)}: ${error}`);
    }
    rows.push({ kernel, geometries: geometries.length, maxError, failures });
    console.error(
      `${kernel}: max relative error ${maxError.toExponential(2)} over ${geometries.length} geometries`,
    );
  }
  const failed = rows.filter((row) => row.failures.length > 0).map((row) => row.kernel);
  return {
    ok: failed.length === 0,
    adapter: info.adapter?.description ?? null,
    tolerance: TOLERANCE,
    failed,
    seconds: (performance.now() - started) / 1000,
    kernels: rows,
  };
}

/** Cross-entropy of the model's output, whether the model ends in a softmax layer or gives logits. */
function crossEntropy(model: tfl.LayersModel, output: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  const last = model.layers[model.layers.length - 1]!.getConfig() as { activation?: string };
  if (last.activation === 'softmax') {
    return tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.log(tf.add(output, 1e-7))), -1))) as tf.Scalar;
  }
  return tf.losses.softmaxCrossEntropy(labels, output) as tf.Scalar;
}

async function trainRow(args: string[]): Promise<Record<string, unknown>> {
  const rowPreset = option(args, '--row', 't2-full-preact-110');
  const iterations = option(args, '--iterations', 200);
  const batch = option(args, '--batch', 128);
  const logEvery = option(args, '--log-every', 20);
  const warmup = Math.min(10, iterations - 1);
  const info = await initBackend({ backend: 'webgpu' });
  const preset = getPreset(rowPreset);
  const depth = option(args, '--depth', preset.config.depth);
  const model = resnet({ ...preset.config, depth, seed: 1 });
  const [height, width, channels] = model.inputs[0]!.shape.slice(1) as [number, number, number];
  const classes = model.outputs[0]!.shape[1] as number;
  // Generated data: 8 batches of N(0, 1) images, labelled by a fixed random linear map of their channel means,
  // so that the loss has something to learn.
  const pool = tf.tidy(() =>
    Array.from({ length: 8 }, (_, i) => {
      const xs = tf.randomNormal([batch, height, width, channels], 0, 1, 'float32', 100 + i);
      const projection = tf.randomNormal([channels, classes], 0, 1, 'float32', 7);
      const labels = tf.argMax(tf.matMul(tf.mean(xs, [1, 2]) as tf.Tensor2D, projection as tf.Tensor2D), -1);
      return { xs: tf.keep(xs), ys: tf.keep(tf.oneHot(labels as tf.Tensor1D, classes)) };
    }),
  );
  const optimizer = new MomentumSgd(model.trainableWeights);
  const schedule = scaledPaperSchedule(iterations);
  const losses: Array<{ iteration: number; loss: number }> = [];
  let timedFrom = 0;
  let tensorsAfterWarmup = 0;
  const started = performance.now();
  for (let iteration = 1; iteration <= iterations; iteration++) {
    const { xs, ys } = pool[(iteration - 1) % pool.length]!;
    const loss = tf.tidy(() => {
      const variables = optimizer.weights.map((w) => w.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(
        () => crossEntropy(model, model.apply(xs, { training: true }) as tf.Tensor, ys),
        variables,
      );
      optimizer.apply(grads, schedule(iteration - 1));
      return value;
    });
    if (iteration % logEvery === 0 || iteration === iterations || iteration === warmup) {
      const value = (await loss.data())[0]!;
      losses.push({ iteration, loss: value });
      console.error(`iteration ${iteration}: loss ${value.toFixed(4)}`);
      if (!Number.isFinite(value)) {
        loss.dispose();
        break;
      }
    }
    loss.dispose();
    if (iteration === warmup) {
      timedFrom = performance.now();
      tensorsAfterWarmup = tf.memory().numTensors;
    }
  }
  const finished = performance.now();
  const timedIterations = iterations - warmup;
  const last = losses.at(-1);
  const result = {
    ok: last !== undefined && last.iteration === iterations && Number.isFinite(last.loss),
    row: rowPreset,
    depth,
    adapter: info.adapter?.description ?? null,
    iterations,
    batch,
    warmupIterations: warmup,
    wallSeconds: (finished - started) / 1000,
    imagesPerSecAfterWarmup: (timedIterations * batch * 1000) / (finished - timedFrom),
    tensorsFlat: tf.memory().numTensors === tensorsAfterWarmup,
    numTensors: { afterWarmup: tensorsAfterWarmup, atEnd: tf.memory().numTensors },
    losses,
  };
  optimizer.dispose();
  model.dispose();
  for (const { xs, ys } of pool) tf.dispose([xs, ys]);
  return result;
}

const [command, ...rest] = process.argv.slice(2);
const commands: Record<string, (args: string[]) => Promise<Record<string, unknown>>> = {
  adapter,
  kernels,
  train: trainRow,
};
const run = command === undefined ? undefined : commands[command];
if (run === undefined) {
  console.error(`usage: check.mjs ${Object.keys(commands).join(' | ')} [options] (got '${command ?? ''}')`);
  process.exit(2);
}
try {
  const result = await run(rest);
  console.log(JSON.stringify(result));
  process.exitCode = result['ok'] === false ? 1 : 0;
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: (error as Error).stack ?? String(error) }));
  process.exitCode = 1;
} finally {
  await disposeWebgpu();
}
