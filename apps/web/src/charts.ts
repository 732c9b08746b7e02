// The page's charts, drawn by the bench's own plotting code (Vega-Lite to SVG): each row's training loss and
// test error against the iteration (the reports' curves, the paper's Figs. 1 and 6).
import type { LogRecord } from '@resnet/trainer';
import { type LinePoint, lineChartSvg } from '../../bench/src/plots.js';

export interface RowCurves {
  label: string;
  records: readonly LogRecord[];
}

/** Replaces the contents of `target` with an SVG document. */
function place(target: HTMLElement, svg: string): void {
  const template = document.createElement('template');
  template.innerHTML = svg.trim();
  target.replaceChildren(template.content);
}

/** Draws the training-loss and test-error charts of every row into the two figures. */
export async function drawCurves(
  rows: readonly RowCurves[],
  targets: { loss: HTMLElement; error: HTMLElement },
): Promise<void> {
  const series = rows.map((row) => row.label);
  const loss: LinePoint[] = [];
  const error: LinePoint[] = [];
  for (const row of rows) {
    for (const record of row.records) {
      if (record.trainLoss !== undefined)
        loss.push({ series: row.label, x: record.iteration, y: record.trainLoss });
      if (record.testError !== undefined) {
        error.push({ series: row.label, x: record.iteration, y: record.testError * 100 });
      }
    }
  }
  const common = { xTitle: 'iteration', series, width: 330, height: 220 };
  place(
    targets.loss,
    await lineChartSvg({ ...common, title: 'training loss', yTitle: 'loss', points: loss }),
  );
  place(
    targets.error,
    await lineChartSvg({ ...common, title: 'test error', yTitle: 'error (%)', points: error, markers: true }),
  );
}
