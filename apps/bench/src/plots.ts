// Line charts as SVG strings, rendered in Node by Vega (no browser, no canvas): the reports' test-error and
// training-loss curves (the paper's Figs. 1 and 6) and the gradient analysis.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface LinePoint {
  /** Which line the point belongs to (one line per series, in the order of `LineChartArgs.series`). */
  series: string;
  x: number;
  y: number;
}

export interface LineChartArgs {
  title: string;
  xTitle: string;
  yTitle: string;
  points: readonly LinePoint[];
  /** Legend order; also the colour order. */
  series: readonly string[];
  /** Log-scale y axis (the gradient norms span orders of magnitude). */
  logY?: boolean;
  /** Draw a point at every value (for short series such as per-unit norms). */
  markers?: boolean;
  width?: number;
  height?: number;
}

/** Renders a multi-line chart as a standalone SVG document. */
export async function lineChartSvg(args: LineChartArgs): Promise<string> {
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: args.title,
    width: args.width ?? 560,
    height: args.height ?? 320,
    background: 'white',
    data: { values: args.points.map((p) => ({ ...p })) },
    mark: { type: 'line', point: args.markers ?? false, strokeWidth: 1.5 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: args.xTitle },
      y: {
        field: 'y',
        type: 'quantitative',
        title: args.yTitle,
        scale: args.logY ? { type: 'log' } : { zero: false },
      },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        sort: [...args.series],
        scale: { domain: [...args.series], scheme: 'category20' },
        legend: { orient: 'right', labelLimit: 320 },
      },
      order: { field: 'x', type: 'quantitative' },
    },
  };
  return vegaLiteSvg(spec);
}

/** Renders any Vega-Lite spec (for example a faceted one) as a standalone SVG document. */
export async function vegaLiteSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
