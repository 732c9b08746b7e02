// The protocols a table can run at. `paper` is the paper's protocol exactly; `quick`, `smoke` and `demo`
// shrink it, and every number they shrink is written here (the README and the report header print the same
// text). A reduced scale shrinks what its table does not test and keeps what it does: Table 1's variants act
// on every unit that keeps dimensions, and their effect grows with the number of such units (λ = 0.5 damps
// the shortcut signal by 0.5 per unit, eq. 8), so Table 1 keeps ResNet-110's depth and cuts iterations and
// test images instead; Tables 2 and 3 compare unit kinds and depths, so they keep each row's unit and the
// depth ordering of the rows and cut the depth.

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
  /**
   * Warm-up iterations at lr 0.01, where the scale does not take the paper's 400 in proportion (1/160 of the
   * run); undefined = in proportion.
   */
  warmupIterations?: number;
  /** Mini-batch size (a row may ask for another at `paper` scale: Table 4's mini-batch 64). */
  batchSize: number;
  /**
   * Groups of the mini-batch that batch normalisation takes its statistics over in training: the paper's
   * 128 ran on 2 GPUs with BN per 64, so `paper` uses 2; the reduced scales, whose batches are their own
   * choice, use 1 (one group: plain BN).
   */
  batchNormGroups: number;
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

/** What a scale changes for one table (Table 1 keeps its depth where Tables 2 and 3 cut theirs). */
type TableOverride = Partial<Omit<Scale, 'name'>>;

interface ScaleDefinition extends Scale {
  tables?: Partial<Record<number, TableOverride>>;
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
// Two units per stage (6·2+2, 9·2+2, 3·2+2): the shallowest net in which every stage has a unit that keeps
// dimensions beyond its first (projection) unit, so a Table 1 variant still acts on a unit of every stage.
const smokeDepths: Record<string, number> = { basic: 14, bottleneck: 20, 'one-layer': 8 };

function smokeDepth(unit: string, presetDepth: number): number {
  return smokeDepths[unit] ?? presetDepth;
}

const keepDepth = (_unit: string, presetDepth: number) => presetDepth;

const definitions: Record<ScaleName, ScaleDefinition> = {
  paper: {
    name: 'paper',
    shrinks: [],
    depth: keepDepth,
    iterations: PAPER_ITERATIONS,
    batchSize: 128,
    batchNormGroups: 2,
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
        'ResNet-164 → 29 (bottleneck, 3 units per stage), ResNet-1001 → 56 (bottleneck, 6 units per stage): ' +
        'unit kinds and depth ordering kept',
      'iterations: 64,000 → 2,000 (mini-batch 128 kept: ≈5 epochs instead of ≈164)',
      'schedule scaled with the iterations: lr 0.1 ÷10 at 1,000 and 1,500; warm-up at 0.01 for 13 iterations (400 × 2,000 / 64,000, rounded up)',
      'batch normalisation over the whole mini-batch of 128 (the paper: per 64, on 2 GPUs)',
      'runs per row: 5 → 1 (no median)',
      "Table 4's mini-batch-64 row is left out",
    ],
    depth: (unit, presetDepth) => quickDepths[unit]?.[presetDepth] ?? smokeDepth(unit, presetDepth),
    iterations: 2000,
    batchSize: 128,
    batchNormGroups: 1,
    runs: 1,
    evaluateEvery: 500,
    checkpointEvery: 100,
    logEvery: 20,
    defaultData: 'real',
    comparable: false,
    tables: {
      1: {
        shrinks: [
          'depth: ResNet-110 kept (54 units carry each variant, as in the paper: the variants’ effect grows with the number of units)',
          'iterations: 64,000 → 1,000 (mini-batch 128 kept: ≈2.6 epochs instead of ≈164)',
          'schedule scaled with the iterations: lr 0.1 ÷10 at 500 and 750; warm-up at 0.01 for 6 iterations (400 × 1,000 / 64,000, rounded)',
          'test error measured on the first 2,000 of the 10,000 test images',
          'batch normalisation over the whole mini-batch of 128 (the paper: per 64, on 2 GPUs)',
          'runs per row: 5 → 1 (no median)',
        ],
        depth: keepDepth,
        iterations: 1000,
        evaluateEvery: 250,
        testImages: 2000,
      },
    },
  },
  smoke: {
    name: 'smoke',
    shrinks: [
      'depth: two units per stage (14 basic, 20 bottleneck, 8 one-layer): every stage keeps a unit beyond its projection unit',
      'iterations: 64,000 → 4, mini-batch 128 → 8, schedule scaled with the iterations',
      'data: 64 generated training images and 16 test images (synthetic) unless --dataset names a real one',
      'batch normalisation over the whole mini-batch',
      'runs per row: 5 → 1',
      'it checks that every row is wired end to end; its errors mean nothing',
    ],
    depth: smokeDepth,
    iterations: 4,
    batchSize: 8,
    batchNormGroups: 1,
    runs: 1,
    evaluateEvery: 4,
    testImages: 16,
    checkpointEvery: 2,
    logEvery: 1,
    defaultData: 'synthetic',
    comparable: false,
  },
  // The no-command demonstration: Table 2's original unit against full pre-activation, sized to minutes on 2
  // CPU cores. The depth is what makes the difference: the paper finds the original unit's training loss
  // "decreases very slowly at the beginning" in deep nets (Sec. 4.1, Fig. 1 right), and warms ResNet-110 up
  // at 0.01 (400 iterations, until training error is below 80%), "not necessary" for the pre-activation unit.
  // The warm-up is kept long (a quarter of the run, both rows): with the paper's 1/160 of the run (1
  // iteration) the original unit diverges at ResNet-56 within 40 iterations, which would label 'fail' a unit
  // the paper reports as working.
  demo: {
    name: 'demo',
    shrinks: [
      'depth: ResNet-110 → 56 (basic, 9 units per stage)',
      'iterations: 64,000 → 96, mini-batch 128 → 64 (≈0.12 epoch)',
      'schedule scaled with the iterations: lr 0.1 ÷10 at 48 and 72; warm-up at 0.01 for 24 iterations (the paper: 400 of 64,000, until training error is below 80%, which the original unit needs to start converging at depth 110)',
      'test error measured on the first 1,000 of the 10,000 test images',
      'batch normalisation over the whole mini-batch of 64',
      'runs per row: 5 → 1',
    ],
    depth: (unit, presetDepth) =>
      unit === 'basic' && presetDepth === 110 ? 56 : smokeDepth(unit, presetDepth),
    iterations: 96,
    warmupIterations: 24,
    batchSize: 64,
    batchNormGroups: 1,
    runs: 1,
    evaluateEvery: 24,
    testImages: 1000,
    checkpointEvery: 24,
    logEvery: 10,
    defaultData: 'real',
    comparable: false,
  },
};

/** The scales by name, each as it applies to tables without an override of their own. */
export const scales: Record<ScaleName, Scale> = definitions;

/**
 * A scale as it applies to a table: the scale's settings with the table's own overrides (Table 1 at `quick`
 * keeps ResNet-110's depth). Without a table, the scale's general settings.
 */
export function getScale(name: string, table?: number): Scale {
  const definition = (definitions as Record<string, ScaleDefinition | undefined>)[name];
  if (!definition) throw new Error(`unknown scale '${name}': use one of ${Object.keys(scales).join(', ')}`);
  const { tables, ...scale } = definition;
  const override = table === undefined ? undefined : tables?.[table];
  return override ? { ...scale, ...override } : scale;
}
