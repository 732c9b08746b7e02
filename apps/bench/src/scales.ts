// The protocols a table can run at. `paper` is the paper's protocol exactly; `quick` and `smoke` shrink it,
// and every number they shrink is written here (the README and the report header print the same text).

export type ScaleName = 'paper' | 'quick' | 'smoke' | 'demo';
export type UnitKind = 'basic' | 'bottleneck' | 'one-layer';

export interface Scale {
  name: ScaleName;
  /** One line per thing that departs from the paper's protocol; empty for `paper`. */
  shrinks: readonly string[];
  /** Depth to train for a preset of this unit and depth (the preset's own depth at `paper` scale). */
  depth(unit: UnitKind | string, presetDepth: number): number;
  /** Training iterations. */
  iterations: number;
  /** Mini-batch size (a row may ask for another at `paper` scale: Table 4's mini-batch 64). */
  batchSize: number;
  /** Runs per row (the paper: median of 5). */
  runs: number;
  /** Evaluate on the test set every this many iterations (and always at the end). */
  evaluateEvery: number;
  /** Test images evaluated; undefined = the whole test split. */
  testImages?: number;
  /** Iterations between checkpoints. */
  checkpointEvery: number;
  /** Iterations between training-loss log lines. */
  logEvery: number;
  /** Data when `--dataset` is not given: the row's real dataset, or generated synthetic images. */
  defaultData: 'real' | 'synthetic';
  /** Whether the numbers can be put next to the paper's. */
  comparable: boolean;
}

/** The paper's schedule: lr 0.1, ÷10 at 32k and 48k of 64k iterations, 400 warm-up iterations at 0.01. */
export const PAPER_ITERATIONS = 64_000;

// Reduced depths keep each network's unit and its place in the depth ordering: n = 3 per stage for the
// 110/164-layer networks (ResNet-20 / ResNet-29), n = 6 for ResNet-1001 (ResNet-56 bottleneck) so the
// 1001-layer rows stay deeper than the 164-layer ones.
const quickDepths: Record<string, Record<number, number>> = {
  basic: { 110: 20, 1202: 20 },
  bottleneck: { 164: 29, 1001: 56 },
  'one-layer': { 110: 20 },
};
// The shallowest network of each unit: one unit per stage (6·1+2, 9·1+2, 3·1+2).
const smokeDepths: Record<string, number> = { basic: 8, bottleneck: 11, 'one-layer': 5 };

function minDepth(unit: string, presetDepth: number): number {
  return smokeDepths[unit] ?? presetDepth;
}

export const scales: Record<ScaleName, Scale> = {
  paper: {
    name: 'paper',
    shrinks: [],
    depth: (_unit, presetDepth) => presetDepth,
    iterations: PAPER_ITERATIONS,
    batchSize: 128,
    runs: 5,
    evaluateEvery: 2000,
    checkpointEvery: 1000,
    logEvery: 100,
    defaultData: 'real',
    comparable: true,
  },
  quick: {
    name: 'quick',
    shrinks: [
      'depth: ResNet-110 → 20 (basic, 3 units per stage), ResNet-110 1-layer skip → 20 (6 units per stage), ' +
        'ResNet-164 → 29 (bottleneck, 3 units per stage), ResNet-1001 → 56 (bottleneck, 6 units per stage)',
      'iterations: 64,000 → 2,000 (mini-batch 128 kept: ≈5 epochs instead of ≈164)',
      'schedule scaled with the iterations: lr 0.1 ÷10 at 1,000 and 1,500; warm-up at 0.01 for 13 iterations (400 × 2,000 / 64,000, rounded up)',
      'runs per row: 5 → 1 (no median)',
      "Table 4's mini-batch-64 row is left out",
    ],
    depth: (unit, presetDepth) => quickDepths[unit]?.[presetDepth] ?? minDepth(unit, presetDepth),
    iterations: 2000,
    batchSize: 128,
    runs: 1,
    evaluateEvery: 500,
    checkpointEvery: 100,
    logEvery: 20,
    defaultData: 'real',
    comparable: false,
  },
  smoke: {
    name: 'smoke',
    shrinks: [
      'depth: one unit per stage (8 basic, 11 bottleneck, 5 one-layer)',
      'iterations: 64,000 → 4, mini-batch 128 → 8, schedule scaled with the iterations',
      'data: 64 generated training images and 16 test images (synthetic) unless --dataset names a real one',
      'runs per row: 5 → 1',
      'it checks that every row is wired end to end; its errors mean nothing',
    ],
    depth: minDepth,
    iterations: 4,
    batchSize: 8,
    runs: 1,
    evaluateEvery: 4,
    testImages: 16,
    checkpointEvery: 2,
    logEvery: 1,
    defaultData: 'synthetic',
    comparable: false,
  },
  // The no-command demonstration: Table 2's first and last rows, sized to finish in minutes on 2 CPU cores.
  demo: {
    name: 'demo',
    shrinks: [
      'depth: ResNet-110 → 8 (basic, 1 unit per stage)',
      'iterations: 64,000 → 300 (mini-batch 128 kept: ≈0.77 epoch)',
      'schedule scaled with the iterations: lr 0.1 ÷10 at 150 and 225; warm-up at 0.01 for 2 iterations',
      'test error measured on the first 1,000 of the 10,000 test images',
      'runs per row: 5 → 1',
    ],
    depth: (unit, presetDepth) => minDepth(unit, presetDepth),
    iterations: 300,
    batchSize: 128,
    runs: 1,
    evaluateEvery: 50,
    testImages: 1000,
    checkpointEvery: 50,
    logEvery: 10,
    defaultData: 'real',
    comparable: false,
  },
};

export function getScale(name: string): Scale {
  const scale = (scales as Record<string, Scale | undefined>)[name];
  if (!scale) throw new Error(`unknown scale '${name}': use one of ${Object.keys(scales).join(', ')}`);
  return scale;
}
