// The paper's Tables 1-3 as data: every row with its id, the preset of @resnet/models it trains, its dataset
// and the error the paper reports. The CLI, the smoke tests and the reports are all generated from this list.

/** The paper's number for a row: a test error in percent, or 'fail' (error over 20%, as the paper defines it). */
export type PaperError = number | 'fail';

export type DatasetName = 'cifar10' | 'cifar100';

export interface ExperimentRow {
  /** Short id used by `--rows` and as the folder name of the row's runs. */
  id: string;
  /** The row as the paper labels it. */
  label: string;
  /** Name of the @resnet/models preset this row trains. */
  preset: string;
  dataset: DatasetName;
  /** Test error (%) in the paper: median of 5 runs. */
  paperError: PaperError;
  /** Mean ± std over the paper's 5 runs, where the paper gives it (Table 4). */
  paperMeanStd?: [number, number];
  /** Mini-batch size when the paper's row departs from 128 (Table 4's ResNet-1001, mini-batch 64). */
  batchSize?: number;
  /** Scales the row exists at; absent means every scale. */
  scales?: readonly string[];
  /**
   * Id of the row this one is measured against (the original unit with the identity shortcut of the same
   * network): at a reduced scale 'fail' and the paper's ordering are judged against it, at that scale.
   */
  reference: string;
  /** A protocol counted in epochs, where the paper's row departs from the 64k-iteration one (paper scale). */
  protocol?: EpochProtocol;
}

/** An epoch-based protocol: fb.resnet.torch's `train.lua` as the authors' ResNet-1001 re-run used it. */
export interface EpochProtocol {
  epochs: number;
  /** Torch's 1-based epochs from which the rate is divided by 10 (`epoch >= 81`, `epoch >= 122`). */
  lrDropEpochs: readonly number[];
  nesterov: boolean;
}

export interface ExperimentTable {
  table: 1 | 2 | 3;
  title: string;
  rows: readonly ExperimentRow[];
}

const table1: ExperimentTable = {
  table: 1,
  title: 'Table 1: shortcut variants (original unit, ResNet-110, CIFAR-10)',
  rows: [
    ['original', 'original [1]: 1 · x', 6.61],
    ['scale-0-1', 'constant scaling 0 / 1 (plain net)', 'fail'],
    ['scale-0.5-1', 'constant scaling 0.5 / 1', 'fail'],
    ['scale-0.5-0.5', 'constant scaling 0.5 / 0.5 (frozen gating)', 12.35],
    ['exclusive-gate-bg0', 'exclusive gating, b_g = 0', 'fail'],
    ['exclusive-gate-bg-6', 'exclusive gating, b_g = -6', 8.7],
    ['exclusive-gate-bg-7', 'exclusive gating, b_g = -7', 9.81],
    ['shortcut-gate-bg0', 'shortcut-only gating, b_g = 0', 12.86],
    ['shortcut-gate-bg-6', 'shortcut-only gating, b_g = -6', 6.91],
    ['conv1x1', '1×1 conv shortcut', 12.22],
    ['dropout-0.5', 'dropout shortcut 0.5', 'fail'],
  ].map(([id, label, paperError]) => ({
    id: id as string,
    label: label as string,
    preset: `t1-${id}`,
    dataset: 'cifar10',
    paperError: paperError as PaperError,
    reference: 'original',
  })),
};

const orders: ReadonlyArray<[string, string, number, number]> = [
  ['original', 'original Residual Unit [1]', 6.61, 5.93],
  ['bn-after-add', 'BN after addition', 8.17, 6.5],
  ['relu-before-add', 'ReLU before addition', 7.84, 6.14],
  ['relu-only-preact', 'ReLU-only pre-activation', 6.71, 5.91],
  ['full-preact', 'full pre-activation', 6.37, 5.46],
];

const table2: ExperimentTable = {
  table: 2,
  title: 'Table 2: activation orders (CIFAR-10)',
  rows: [110, 164].flatMap((depth) =>
    orders.map(([order, label, e110, e164]) => ({
      id: `${order}-${depth}`,
      label: `${label}, ResNet-${depth}`,
      preset: `t2-${order}-${depth}`,
      dataset: 'cifar10' as const,
      paperError: depth === 110 ? e110 : e164,
      reference: `original-${depth}`,
    })),
  ),
};

const table3Networks: ReadonlyArray<{
  id: string;
  dataset: DatasetName;
  network: string;
  original: number;
  preact: number;
  preactMeanStd?: [number, number];
}> = [
  {
    id: 'c10-110-1layer',
    dataset: 'cifar10',
    network: 'ResNet-110 (1-layer skip)',
    original: 9.9,
    preact: 8.91,
  },
  { id: 'c10-110', dataset: 'cifar10', network: 'ResNet-110', original: 6.61, preact: 6.37 },
  { id: 'c10-164', dataset: 'cifar10', network: 'ResNet-164', original: 5.93, preact: 5.46 },
  {
    id: 'c10-1001',
    dataset: 'cifar10',
    network: 'ResNet-1001',
    original: 7.61,
    preact: 4.92,
    preactMeanStd: [4.89, 0.14],
  },
  { id: 'c100-164', dataset: 'cifar100', network: 'ResNet-164', original: 25.16, preact: 24.33 },
  {
    id: 'c100-1001',
    dataset: 'cifar100',
    network: 'ResNet-1001',
    original: 27.82,
    preact: 22.71,
    preactMeanStd: [22.68, 0.22],
  },
];

const table3: ExperimentTable = {
  table: 3,
  title: 'Table 3: original vs pre-activation unit (CIFAR-10 and CIFAR-100)',
  rows: [
    ...table3Networks.flatMap((n): ExperimentRow[] => {
      const name = n.dataset === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100';
      const original: ExperimentRow = {
        id: `${n.id}-original`,
        label: `${name}, ${n.network}, original unit`,
        preset: `t3-${n.id}-original`,
        dataset: n.dataset,
        paperError: n.original,
        reference: `${n.id}-original`,
      };
      const preact: ExperimentRow = {
        id: `${n.id}-preact`,
        label: `${name}, ${n.network}, pre-activation unit`,
        preset: `t3-${n.id}-preact`,
        dataset: n.dataset,
        paperError: n.preact,
        reference: `${n.id}-original`,
        ...(n.preactMeanStd ? { paperMeanStd: n.preactMeanStd } : {}),
      };
      return [original, preact];
    }),
    // Table 4's ResNet-1001 with mini-batch 64: only the paper's protocol says anything about mini-batch size.
    {
      id: 'c10-1001-preact-mb64',
      label: 'CIFAR-10, ResNet-1001, pre-activation unit, mini-batch 64 (Table 4)',
      preset: 't3-c10-1001-preact',
      dataset: 'cifar10',
      paperError: 4.62,
      paperMeanStd: [4.69, 0.2],
      batchSize: 64,
      scales: ['paper'],
      // The authors' re-run (resnet-1k-layers on fb.resnet.torch): 200 epochs, ÷10 at epochs 81 and 122,
      // Nesterov momentum; fb.resnet.torch's train.lua has no warm-up.
      protocol: { epochs: 200, lrDropEpochs: [81, 122], nesterov: true },
      reference: 'c10-1001-original',
    },
  ],
};

export const tables: readonly ExperimentTable[] = [table1, table2, table3];

/** The table with this number, or an error listing the known ones. */
export function getTable(table: number): ExperimentTable {
  const found = tables.find((t) => t.table === table);
  if (!found) {
    throw new Error(`unknown table ${table}: the bench has tables ${tables.map((t) => t.table).join(', ')}`);
  }
  return found;
}

/** The rows of a table that exist at a scale. */
export function rowsAtScale(table: ExperimentTable, scale: string): ExperimentRow[] {
  return table.rows.filter((row) => !row.scales || row.scales.includes(scale));
}

/**
 * The rows named by `ids` (all rows at the scale when `ids` is empty), in the table's order. An unknown id
 * fails with the list of the table's ids.
 */
export function selectRows(
  table: ExperimentTable,
  scale: string,
  ids: readonly string[] = [],
): ExperimentRow[] {
  const available = rowsAtScale(table, scale);
  if (ids.length === 0) return available;
  for (const id of ids) {
    if (!available.some((row) => row.id === id)) {
      const other = table.rows.find((row) => row.id === id);
      const why = other ? `exists only at scale ${other.scales?.join(', ')}` : 'is not a row of this table';
      throw new Error(
        `row '${id}' ${why}; rows of table ${table.table} at scale ${scale}: ${available.map((r) => r.id).join(', ')}`,
      );
    }
  }
  return available.filter((row) => ids.includes(row.id));
}

/** The paper's number as the reports print it. */
export function formatPaperError(row: ExperimentRow): string {
  if (row.paperError === 'fail') return 'fail';
  const base = row.paperError.toFixed(2);
  return row.paperMeanStd
    ? `${base} (${row.paperMeanStd[0].toFixed(2)} ± ${row.paperMeanStd[1].toFixed(2)})`
    : base;
}
