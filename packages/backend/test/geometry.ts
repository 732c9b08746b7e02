// The table of convolution geometries the kernel tests run every backend's kernels over (strides 1 and 2,
// 'same'/'valid'/numeric/explicit padding, 1×1, 3×3 and non-square filters, odd and even sizes, batch 1
// and 3, several channel counts). Shared by test/wasm-kernels.test.ts and any other backend's kernel tests.

export type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

/** One convolution: x [batch, height, width, inChannels] * filter [fh, fw, inChannels, outChannels]. */
export interface Geometry {
  batch: number;
  height: number;
  width: number;
  inChannels: number;
  outChannels: number;
  filter: [number, number];
  strides: [number, number];
  pad: Pad;
}

/** The geometries every convolution kernel is checked on, against the cpu backend. */
export const grid: Geometry[] = [];
for (const [height, width] of [
  [7, 7],
  [8, 8],
  [5, 8],
] as const) {
  for (const filter of [
    [1, 1],
    [3, 3],
  ] as const) {
    for (const stride of [1, 2]) {
      for (const pad of ['same', 'valid'] as const) {
        for (const batch of [1, 3]) {
          for (const [inChannels, outChannels] of [
            [1, 4],
            [3, 8],
            [16, 16],
          ] as const) {
            grid.push({
              batch,
              height,
              width,
              inChannels,
              outChannels,
              filter: [...filter],
              strides: [stride, stride],
              pad,
            });
          }
        }
      }
    }
  }
}
// 3×3 stride-1 convolutions with 32 or more input channels take the native kernels' Winograd form: odd and
// even sizes, every padding, an output channel count with a 4-wide tail.
for (const [height, width] of [
  [8, 8],
  [7, 5],
] as const) {
  for (const pad of [
    'same',
    'valid',
    [
      [0, 0],
      [2, 0],
      [0, 1],
      [0, 0],
    ],
  ] as const) {
    grid.push({
      batch: 3,
      height,
      width,
      inChannels: 32,
      outChannels: 36,
      filter: [3, 3],
      strides: [1, 1],
      pad: pad as Pad,
    });
  }
}
// Geometries the grid leaves out: non-square filters and strides, numeric and asymmetric explicit padding.
grid.push(
  {
    batch: 2,
    height: 9,
    width: 6,
    inChannels: 3,
    outChannels: 5,
    filter: [3, 1],
    strides: [2, 1],
    pad: 'same',
  },
  {
    batch: 2,
    height: 6,
    width: 9,
    inChannels: 4,
    outChannels: 3,
    filter: [1, 3],
    strides: [1, 2],
    pad: 'valid',
  },
  { batch: 2, height: 8, width: 7, inChannels: 3, outChannels: 4, filter: [3, 3], strides: [2, 2], pad: 1 },
  {
    batch: 2,
    height: 7,
    width: 8,
    inChannels: 2,
    outChannels: 3,
    filter: [3, 3],
    strides: [2, 2],
    pad: [
      [0, 0],
      [2, 0],
      [0, 1],
      [0, 0],
    ],
  },
  {
    batch: 1,
    height: 5,
    width: 5,
    inChannels: 2,
    outChannels: 2,
    filter: [5, 5],
    strides: [1, 1],
    pad: 'valid',
  },
  {
    batch: 2,
    height: 11,
    width: 10,
    inChannels: 3,
    outChannels: 4,
    filter: [3, 3],
    strides: [3, 3],
    pad: 'same',
  },
  {
    batch: 1,
    height: 9,
    width: 9,
    inChannels: 2,
    outChannels: 3,
    filter: [5, 5],
    strides: [2, 2],
    pad: 'valid',
  },
  {
    batch: 2,
    height: 8,
    width: 7,
    inChannels: 3,
    outChannels: 2,
    filter: [2, 2],
    strides: [2, 2],
    pad: 'same',
  },
  {
    batch: 2,
    height: 10,
    width: 9,
    inChannels: 2,
    outChannels: 2,
    filter: [5, 3],
    strides: [2, 2],
    pad: 'same',
  },
  { batch: 2, height: 7, width: 6, inChannels: 3, outChannels: 4, filter: [1, 1], strides: [2, 2], pad: 1 },
  { batch: 2, height: 6, width: 7, inChannels: 4, outChannels: 3, filter: [1, 1], strides: [1, 1], pad: 1 },
  {
    batch: 3,
    height: 8,
    width: 7,
    inChannels: 5,
    outChannels: 2,
    filter: [1, 1],
    strides: [2, 3],
    pad: [
      [0, 0],
      [1, 0],
      [0, 2],
      [0, 0],
    ],
  },
);

/** One line naming a geometry, for test titles. */
export function describeGeometry(g: Geometry): string {
  return `x ${g.batch}×${g.height}×${g.width}×${g.inChannels}, filter ${g.filter.join('×')}→${g.outChannels}, strides ${g.strides.join(',')}, pad ${JSON.stringify(g.pad)}`;
}
