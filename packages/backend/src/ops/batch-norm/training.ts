// Batch normalisation with a closed-form backward pass. tfjs composes the training-mode BN of a layer from
// moments (Mean, Sub, Square, Mean) and FusedBatchNorm, so its backward pass runs the gradient of each:
// about twenty full-size element-wise ops per BN layer, one of them a Tile that materialises 1/σ at the
// size of the input (28% of a ResNet training step on wasm). The closed form
//
//   x̂ = (x − μ)/σ,   dβ = Σ dy,   dγ = Σ dy·x̂,   dx = γ/σ · (dy − dβ/N − x̂·dγ/N)
//
// needs six element-wise ops and two reductions, or, where ./batch-norm-kernels.ts has kernels for the
// backend (wasm, cpu), two passes forward and two backward. It is the same function, so outputs and
// gradients are the same up to float rounding (the tests compare them with the stock composition on cpu).
import * as tf from '@tensorflow/tfjs-core';
import { BatchNormTrainingGradKernel, BatchNormTrainingKernel, hasBatchNormKernels } from './kernels.js';

/** Mean and (biased) variance of a training-mode batch normalisation, per channel. */
export interface BatchMoments {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

function leadingAxes(rank: number): number[] {
  return Array.from({ length: rank - 1 }, (_, i) => i);
}

/**
 * Gradients of y = γ·(x − μ)/√(σ² + ε) + β with μ and σ² the batch moments of x over every axis but the last.
 * `centred` is x − μ; returns [dx, dγ, dβ].
 */
function batchNormTrainingGrad(
  dy: tf.Tensor,
  centred: tf.Tensor,
  variance: tf.Tensor1D,
  gamma: tf.Tensor1D,
  epsilon: number,
): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  const axes = leadingAxes(dy.rank);
  const count = dy.size / dy.shape[dy.rank - 1]!;
  const invStd = tf.rsqrt(tf.add(variance, epsilon));
  const dBeta = tf.sum(dy, axes) as tf.Tensor1D;
  const dGamma = tf.mul(tf.sum(tf.mul(dy, centred), axes), invStd) as tf.Tensor1D;
  // dx = a·dy + b·(x − μ) + c per channel, with a = γ/σ, b = −a·dγ/(σ·N), c = −a·dβ/N.
  const a = tf.mul(gamma, invStd);
  const b = tf.neg(tf.div(tf.mul(tf.mul(a, invStd), dGamma), count));
  const c = tf.neg(tf.div(tf.mul(a, dBeta), count));
  const dx = tf.add(tf.add(tf.mul(dy, a), tf.mul(centred, b)), c);
  return [dx, dGamma, dBeta];
}

/**
 * Training-mode batch normalisation over every axis but the last (channels-last), with the closed-form
 * gradient: on backends with this package's kernels, two fused passes each way; elsewhere tfjs's own
 * forward ops (tf.moments, then tf.batchNorm) and the composed closed form. Returns the output and the batch
 * moments (for the moving averages); the caller owns all three tensors. `implementation: 'ops'` takes the
 * composed path even where kernels exist.
 */
export function batchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
  implementation: 'auto' | 'ops' = 'auto',
): { y: tf.Tensor } & BatchMoments {
  if (x.rank < 2) throw new Error(`batchNormTraining: x must have rank ≥ 2, got shape [${x.shape}]`);
  const channels = x.shape[x.rank - 1]!;
  if (gamma.size !== channels || beta.size !== channels) {
    throw new Error(
      `batchNormTraining: gamma [${gamma.shape}] and beta [${beta.shape}] must have the ${channels} channels of x`,
    );
  }
  const fused = implementation === 'auto' && x.dtype === 'float32' && hasBatchNormKernels(tf.getBackend());
  const attrs = { varianceEpsilon: epsilon };
  let moments: BatchMoments | undefined;
  const op = tf.customGrad(((
    input: tf.Tensor,
    scale: tf.Tensor,
    offset: tf.Tensor,
    save: tf.GradSaveFunc,
  ) => {
    const xs = input;
    let y: tf.Tensor;
    let mean: tf.Tensor1D;
    let variance: tf.Tensor1D;
    if (fused) {
      [y, mean, variance] = tf
        .engine()
        .runKernel(BatchNormTrainingKernel, { x: xs, scale, offset }, attrs) as unknown as [
        tf.Tensor,
        tf.Tensor1D,
        tf.Tensor1D,
      ];
    } else {
      ({ mean, variance } = tf.moments(xs, leadingAxes(xs.rank)) as BatchMoments);
      y = tf.batchNorm(xs, mean, variance, offset as tf.Tensor1D, scale as tf.Tensor1D, epsilon);
    }
    // x − μ is recomputed in the backward pass rather than kept: one op against a full-size tensor per layer.
    save([xs, mean, variance, scale as tf.Tensor]);
    // The custom op's forward runs in its own scope; keep the moments for the caller's moving averages.
    moments = { mean: tf.keep(mean), variance: tf.keep(variance) };
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedX, savedMean, savedVariance, savedGamma] = saved as [
          tf.Tensor,
          tf.Tensor1D,
          tf.Tensor1D,
          tf.Tensor1D,
        ];
        if (fused) {
          return tf
            .engine()
            .runKernel(
              BatchNormTrainingGradKernel,
              { dy, x: savedX, mean: savedMean, variance: savedVariance, scale: savedGamma },
              attrs,
            ) as unknown as tf.Tensor[];
        }
        return batchNormTrainingGrad(dy, tf.sub(savedX, savedMean), savedVariance, savedGamma, epsilon);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (
    x: tf.Tensor,
    gamma: tf.Tensor,
    beta: tf.Tensor,
  ) => tf.Tensor;
  const y = op(x, gamma, beta);
  const kept = moments as BatchMoments | undefined;
  if (kept === undefined) throw new Error('batchNormTraining: the forward pass did not run');
  // Clones (which share the data) belong to the caller's scope, so an enclosing tidy frees them as usual.
  const result = { y, mean: tf.clone(kept.mean), variance: tf.clone(kept.variance) };
  kept.mean.dispose();
  kept.variance.dispose();
  return result;
}

/**
 * Gradient of the FusedBatchNorm kernel, as tfjs registers it but without materialising 1/σ at the size of x
 * with Tile (broadcasting does the same): the path taken by BN layers that {@link batchNormTraining} does not
 * cover (inference mode under a gradient, no γ or β, channels not last).
 */
export const fusedBatchNormGradConfig: tf.GradConfig = {
  kernelName: tf.FusedBatchNorm,
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const gradient = dy as tf.Tensor;
    const epsilon = (attrs as unknown as tf.FusedBatchNormAttrs).varianceEpsilon;
    const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
    const scaleValue = scale ?? tf.scalar(1);
    const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
    const reduce = (t: tf.Tensor) => (axes.length > 0 ? tf.reshape(tf.sum(t, axes), mean.shape) : t);
    const invStd = tf.rsqrt(tf.add(variance, epsilon));
    const centred = tf.sub(x, mean);
    const minusHalfInvStdCubed = tf.mul(tf.mul(tf.mul(invStd, invStd), invStd), -0.5);
    const sumDy = reduce(gradient);
    const sumDyCentred = reduce(tf.mul(gradient, centred));
    return {
      x: () => tf.mul(gradient, tf.mul(invStd, scaleValue)),
      mean: () => tf.neg(tf.mul(tf.mul(sumDy, scaleValue), invStd)),
      variance: () => tf.mul(tf.mul(sumDyCentred, scaleValue), minusHalfInvStdCubed),
      scale: () => tf.mul(sumDyCentred, invStd),
      offset: () => sumDy,
    };
  },
};
