// The paper's networks as data: one preset per row of Tables 1–3 (named after table and row) and the named
// ResNet-110/164/1001/1202, original and pre-activation, for CIFAR-10 and CIFAR-100. A preset says what a
// network is, not what error the paper reached with it: the paper's numbers live with the experiments that
// reproduce them (apps/bench/src/experiments.ts), in one place.
import type { UnitOrder } from '@resnet/units';
import type { ResNetConfig } from './resnet.js';

/** A network of the paper, with the dataset it was trained on. */
export interface Preset {
  name: string;
  description: string;
  dataset: 'cifar10' | 'cifar100';
  config: ResNetConfig;
}

const orderFigure: Record<UnitOrder, string> = {
  original: 'Fig. 4(a), original',
  'bn-after-add': 'Fig. 4(b), BN after addition',
  'relu-before-add': 'Fig. 4(c), ReLU before addition',
  'relu-only-preact': 'Fig. 4(d), ReLU-only pre-activation',
  'full-preact': 'Fig. 4(e), full pre-activation',
};

// Every preset uses 1×1 projections where dimensions increase: the paper keeps them in all of Table 1's
// cases, and its code uses them throughout ([1]'s CIFAR nets used zero-padding: dimensionIncrease 'zero-pad').
function cifar(
  depth: number,
  unit: string,
  order: UnitOrder,
  classes: 10 | 100,
  extra: Partial<ResNetConfig> = {},
) {
  return {
    depth,
    unit,
    order,
    shortcut: 'identity',
    dimensionIncrease: 'projection',
    classes,
    ...extra,
  } as ResNetConfig;
}

function preset(name: string, description: string, config: ResNetConfig): Preset {
  return { name, description, dataset: config.classes === 100 ? 'cifar100' : 'cifar10', config };
}

const table1: Preset[] = [
  ['original', 'Fig. 2(a), identity shortcut', 'identity', {}],
  [
    'scale-0-1',
    'Fig. 2(b), constant scaling 0 on shortcut, 1 on F: a plain net',
    'scale',
    { shortcutScale: 0, residualScale: 1 },
  ],
  [
    'scale-0.5-1',
    'Fig. 2(b), constant scaling 0.5 on shortcut, 1 on F',
    'scale',
    { shortcutScale: 0.5, residualScale: 1 },
  ],
  [
    'scale-0.5-0.5',
    'Fig. 2(b), constant scaling 0.5 on shortcut and F: frozen gating',
    'scale',
    { shortcutScale: 0.5, residualScale: 0.5 },
  ],
  [
    'exclusive-gate-bg0',
    "Fig. 2(c), exclusive gating, b_g = 0 (the paper's '0 to −5' row)",
    'exclusive-gate',
    { biasInit: 0 },
  ],
  ['exclusive-gate-bg-6', 'Fig. 2(c), exclusive gating, b_g = −6', 'exclusive-gate', { biasInit: -6 }],
  ['exclusive-gate-bg-7', 'Fig. 2(c), exclusive gating, b_g = −7', 'exclusive-gate', { biasInit: -7 }],
  ['shortcut-gate-bg0', 'Fig. 2(d), shortcut-only gating, b_g = 0', 'shortcut-gate', { biasInit: 0 }],
  ['shortcut-gate-bg-6', 'Fig. 2(d), shortcut-only gating, b_g = −6', 'shortcut-gate', { biasInit: -6 }],
  ['conv1x1', 'Fig. 2(e), 1×1 conv shortcut', 'conv1x1', {}],
  ['dropout-0.5', 'Fig. 2(f), dropout shortcut, rate 0.5', 'dropout', { rate: 0.5 }],
].map(([row, description, shortcut, shortcutArgs]) =>
  preset(
    `t1-${row}`,
    `Table 1, ResNet-110, original unit, CIFAR-10: ${description}`,
    cifar(110, 'basic', 'original', 10, {
      shortcut: shortcut as string,
      ...(Object.keys(shortcutArgs as object).length > 0
        ? { shortcutArgs: shortcutArgs as Record<string, number> }
        : {}),
    }),
  ),
);

const orders: UnitOrder[] = [
  'original',
  'bn-after-add',
  'relu-before-add',
  'relu-only-preact',
  'full-preact',
];

const table2: Preset[] = orders.flatMap((order) => [
  preset(
    `t2-${order}-110`,
    `Table 2, ResNet-110 (basic), CIFAR-10: ${orderFigure[order]}`,
    cifar(110, 'basic', order, 10),
  ),
  preset(
    `t2-${order}-164`,
    `Table 2, ResNet-164 (bottleneck), CIFAR-10: ${orderFigure[order]}`,
    cifar(164, 'bottleneck', order, 10),
  ),
]);

const table3Rows: [string, number, string, 10 | 100][] = [
  ['c10-110-1layer', 110, 'one-layer', 10],
  ['c10-110', 110, 'basic', 10],
  ['c10-164', 164, 'bottleneck', 10],
  ['c10-1001', 1001, 'bottleneck', 10],
  ['c100-164', 164, 'bottleneck', 100],
  ['c100-1001', 1001, 'bottleneck', 100],
];

const table3: Preset[] = table3Rows.flatMap(([row, depth, unit, classes]) =>
  (['original', 'full-preact'] as const).map((order) =>
    preset(
      `t3-${row}-${order === 'original' ? 'original' : 'preact'}`,
      `Table 3, ResNet-${depth}${unit === 'one-layer' ? ' (1-layer skip)' : ''}, CIFAR-${classes}: ${orderFigure[order]} unit`,
      cifar(depth, unit, order, classes),
    ),
  ),
);

const named: Preset[] = (
  [
    [110, 'basic'],
    [164, 'bottleneck'],
    [1001, 'bottleneck'],
    [1202, 'basic'],
  ] as const
).flatMap(([depth, unit]) =>
  (['original', 'full-preact'] as const).flatMap((order) =>
    ([10, 100] as const).map((classes) =>
      preset(
        `${order === 'original' ? '' : 'preact-'}resnet${depth}${classes === 100 ? '-cifar100' : ''}`,
        `ResNet-${depth} (${unit}), ${order === 'original' ? 'original' : 'pre-activation'} unit, CIFAR-${classes}`,
        cifar(depth, unit, order, classes),
      ),
    ),
  ),
);

/** Every preset by name. */
export const presets: Record<string, Preset> = Object.fromEntries(
  [...table1, ...table2, ...table3, ...named].map((p) => [p.name, p]),
);

/** Names of every preset, tables first. */
export function listPresets(): string[] {
  return Object.keys(presets);
}

/** A preset by name; an unknown name fails with the list of names. The config is a fresh copy. */
export function getPreset(name: string): Preset {
  const found = presets[name];
  if (!found) throw new Error(`unknown preset '${name}'; presets: ${listPresets().join(', ')}`);
  return structuredClone(found);
}
