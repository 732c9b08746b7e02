// A table's report, rebuilt from the run folders on disk: `report.md` (the paper's error next to ours, with a
// header saying where the numbers came from) and two SVG plots (test error and training loss vs iteration,
// one line per row, like the paper's Figs. 1 and 6). Nothing in it depends on when or where it is rebuilt.
import { join } from 'node:path';
import { type ExperimentRow, type ExperimentTable, formatPaperError, getTable } from './experiments.js';
import { assertNoLinks, writeTextAtomic } from './files.js';
import { type LinePoint, lineChartSvg } from './plots.js';
import { type MetricPoint, type RunConfig, type RunRecord, readRowRuns, tableDir } from './run-files.js';
import { median } from './stats.js';

/** The paper's definition of failure: test error over 20%. It holds for the paper's protocol only. */
export const FAIL_THRESHOLD_PERCENT = 20;

/**
 * At a reduced scale every row trains for a fraction of the paper's iterations, so even the original unit
 * can be far above 20%: there, a row fails when it diverged or when its median error is above this multiple
 * of its reference row's median at the same scale (the original unit with the identity shortcut of the same
 * network; the paper's 20% is about 3× its 6.61%).
 */
export const REDUCED_FAIL_MULTIPLE = 1.5;

/** How 'fail' is judged: the paper's threshold, or against the row's reference row at a reduced scale. */
export type FailRule = { kind: 'paper'; thresholdPercent: number } | { kind: 'reference'; multiple: number };

export const PAPER_FAIL_RULE: FailRule = { kind: 'paper', thresholdPercent: FAIL_THRESHOLD_PERCENT };

/** The paper's rule when every run followed the paper's protocol on real data; else the reference rule. */
export function failRuleFor(configs: ReadonlyArray<{ comparable: boolean }>): FailRule {
  return configs.length > 0 && configs.every((c) => c.comparable)
    ? PAPER_FAIL_RULE
    : { kind: 'reference', multiple: REDUCED_FAIL_MULTIPLE };
}

export interface RowSummary {
  row: ExperimentRow;
  runs: RunRecord[];
  /** Runs with a result (completed or diverged). */
  finished: number;
  diverged: number;
  /** Runs expected by the configuration the row was run with. */
  expected: number;
  /** Median test error (%) over finished runs, a diverged run counting as an infinite error. */
  median?: number;
  mean?: number;
  std?: number;
  fail: boolean;
  /** The row's reference row's median, where the reference rule judged it. */
  referenceMedian?: number;
}

export interface TableReport {
  table: ExperimentTable;
  markdown: string;
  reportPath: string;
  plots: { testError: string; trainLoss: string };
  rows: RowSummary[];
}

/**
 * A row's runs summarised, and 'fail' judged by `rule`: over the paper's 20%, or (reduced scales) diverged or
 * above `multiple` × the reference row's median, which `reference` gives (not judged against when it has no
 * finished run: only divergence fails then).
 */
export function summarizeRow(
  row: ExperimentRow,
  runs: RunRecord[],
  rule: FailRule = PAPER_FAIL_RULE,
  reference?: RowSummary,
): RowSummary {
  const results = runs.flatMap((r) => (r.result ? [r.result] : []));
  const diverged = results.filter((r) => r.status === 'diverged').length;
  const errors = results
    .filter((r) => r.status === 'completed' && r.testErrorPercent !== null)
    .map((r) => r.testErrorPercent as number);
  const forMedian = [
    ...errors,
    ...Array<number>(results.length - errors.length).fill(Number.POSITIVE_INFINITY),
  ];
  const expected = Math.max(runs.length, ...runs.map((r) => r.config?.runs ?? 0));
  const summary: RowSummary = { row, runs, finished: results.length, diverged, expected, fail: false };
  if (forMedian.length > 0) {
    summary.median = median(forMedian);
    if (rule.kind === 'paper') summary.fail = summary.median > rule.thresholdPercent;
    else {
      const ref = reference?.median;
      const judged = ref !== undefined && Number.isFinite(ref) && reference?.row.id !== row.id;
      if (judged) summary.referenceMedian = ref;
      summary.fail = !Number.isFinite(summary.median) || (judged && summary.median > rule.multiple * ref);
    }
  }
  if (errors.length > 0) {
    summary.mean = errors.reduce((a, b) => a + b, 0) / errors.length;
    // Sample standard deviation (n − 1), as a spread over a handful of runs is usually reported.
    summary.std =
      errors.length > 1
        ? Math.sqrt(errors.reduce((a, e) => a + (e - (summary.mean as number)) ** 2, 0) / (errors.length - 1))
        : 0;
  }
  return summary;
}

function fmt(value: number): string {
  return value.toFixed(2);
}

function oursCell(s: RowSummary): string {
  if (s.median === undefined) return s.runs.length > 0 ? 'running' : 'not run';
  if (!Number.isFinite(s.median)) return 'fail (diverged)';
  return s.fail ? `fail (${fmt(s.median)})` : fmt(s.median);
}

type Relation = 'better' | 'worse' | 'equal';

function relation(a: number, b: number): Relation {
  return a > b ? 'worse' : a < b ? 'better' : 'equal';
}

/**
 * Where the row stands against its reference row in the paper and in our runs ('fail' and divergence count as
 * worse than any error); undefined for the reference row itself and where either side has no finished run.
 */
export function ordering(
  s: RowSummary,
  reference: RowSummary | undefined,
): { paper: Relation; ours: Relation; agrees: boolean } | undefined {
  if (!reference || reference.row.id === s.row.id) return undefined;
  if (s.median === undefined || reference.median === undefined) return undefined;
  const refPaper = reference.row.paperError;
  if (refPaper === 'fail') return undefined;
  const paper = s.row.paperError === 'fail' ? 'worse' : relation(s.row.paperError, refPaper);
  const ours = relation(s.median, reference.median);
  return { paper, ours, agrees: paper === ours };
}

function orderingCell(o: ReturnType<typeof ordering>): string {
  if (!o) return '—';
  return `${o.paper} / ${o.ours} ${o.agrees ? '✓' : '✗'}`;
}

function remark(s: RowSummary): string {
  const parts: string[] = [];
  if (s.diverged > 0) parts.push(`${s.diverged} of ${s.finished} diverged`);
  const unfinished = s.runs.length - s.finished;
  if (unfinished > 0) parts.push(`${unfinished} unfinished`);
  return parts.join('; ');
}

/** Distinct values in first-seen order, joined for the header ('unknown' when there are none). */
function distinct(values: ReadonlyArray<string | number | undefined>): string {
  const seen = [...new Set(values.filter((v) => v !== undefined).map(String))];
  return seen.length > 0 ? seen.join(', ') : 'unknown';
}

/**
 * The header's account of the data files the runs recorded: official, or which split is not ("unofficial
 * test set") with the files' SHA-256; and the images per split. Undefined when no run recorded its data.
 */
export function describeData(configs: readonly RunConfig[]): string | undefined {
  const seen = new Set<string>();
  for (const config of configs) {
    const identity = config.dataIdentity;
    if (!identity) continue;
    const { train, test, testEvaluated } = identity.splits;
    const sizes = `${train.toLocaleString('en-US')} training, ${test.toLocaleString('en-US')} test images${testEvaluated < test ? ` (first ${testEvaluated.toLocaleString('en-US')} evaluated)` : ''}`;
    let text: string;
    if (config.data === 'synthetic') text = `generated (${config.dataset} format); ${sizes}`;
    else if (identity.official)
      text = `official ${config.dataset} files (checked against the official checksums); ${sizes}`;
    else {
      const odd = identity.files.filter((f) => f.origin !== 'official' && f.origin !== 'official-archive');
      const splits = [...new Set(odd.map((f) => (f.split === 'train' ? 'training' : 'test')))];
      const which = splits.length === 2 ? 'training and test sets' : `${splits[0]} set`;
      const files = odd.map(
        (f) => `${f.name}: ${f.origin}, ${f.records.toLocaleString('en-US')} records, SHA-256 ${f.sha256}`,
      );
      text = `**unofficial ${which}** (${config.dataset}; ${files.join('; ')}); ${sizes}`;
    }
    seen.add(text);
  }
  return seen.size > 0 ? [...seen].join(' | ') : undefined;
}

/** A figure added to a report below its two plots (the demo adds the eq. 5/8 gradient figure). */
export interface ReportFigure {
  /** File name beside report.md. */
  file: string;
  alt: string;
  /** A line under the figure saying what it shows. */
  caption?: string;
}

/** The report's Markdown for a table's rows as summarised from disk. */
export function renderReport(
  table: ExperimentTable,
  rows: readonly RowSummary[],
  figures: readonly ReportFigure[] = [],
): string {
  const runs = rows.flatMap((s) => s.runs);
  const configs = runs.flatMap((r) => (r.config ? [r.config] : []));
  const envs = runs.flatMap((r) => (r.result?.environment ? [r.result.environment] : []));
  const comparable = configs.length > 0 && configs.every((c) => c.comparable);
  const shrinks = [...new Set(configs.flatMap((c) => c.shrinks))];
  const lines: string[] = [];
  lines.push(`# ${table.title}`, '');
  lines.push(`- backend: ${distinct(envs.map((e) => e.backend))}`);
  lines.push(`- device: ${distinct(envs.map((e) => e.device))}`);
  lines.push(`- scale: ${distinct(configs.map((c) => c.scale))}`);
  lines.push(
    `- dataset: ${distinct(configs.map((c) => (c.data === 'synthetic' ? `synthetic (${c.dataset} format)` : c.dataset)))}`,
  );
  const data = describeData(configs);
  if (data) lines.push(`- data files: ${data}`);
  lines.push(`- seed: ${distinct(configs.map((c) => c.baseSeed))} (run k uses seed + k − 1)`);
  lines.push(`- commit: ${distinct(envs.map((e) => e.commit))}`);
  lines.push(
    `- TensorFlow.js: ${distinct(envs.map((e) => e.tfjs))}; Node.js ${distinct(envs.map((e) => e.node))}`,
  );
  lines.push('');
  if (!comparable && configs.length > 0) {
    lines.push(
      "**Reduced scale: these numbers are NOT comparable to the paper's.** What this scale changes from the paper's protocol:",
      '',
      ...shrinks.map((s) => `- ${s}`),
      '',
    );
  }
  const groups = distinct(configs.map((c) => (c.model as { batchNormGroups?: number }).batchNormGroups));
  if (configs.length > 0) {
    const over =
      groups === 'unknown'
        ? 'not recorded in these runs’ configs'
        : groups === '1'
          ? 'over the whole mini-batch (1 group)'
          : `over ${groups} groups of the mini-batch`;
    lines.push(
      `BN statistics in training: ${over}; the paper's: 2 groups (BN per 64 of 128, on 2 GPUs).`,
      '',
    );
  }
  const rule = failRuleFor(configs);
  const failText =
    rule.kind === 'paper'
      ? `'fail' = error over ${rule.thresholdPercent}% or diverged, as the paper defines it`
      : `'fail' at this reduced scale = diverged, or a median error above ${rule.multiple}× that of the row's reference row (the original unit with the identity shortcut of the same network) at the same scale; never the paper's ${FAIL_THRESHOLD_PERCENT}%, which holds for the paper's protocol only`;
  lines.push(
    `Test error (%). Paper: median of 5 runs (mean ± std where the paper gives it). Ours: median over this table's runs; ${failText}. 'vs reference': whether the row is better or worse than its reference row, in the paper / in ours.`,
    '',
  );
  lines.push('| row | id | preset | paper | ours (median) | mean ± std | runs | vs reference | remark |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  const byId = new Map(rows.map((r) => [r.row.id, r]));
  const agree: string[] = [];
  const disagree: string[] = [];
  for (const s of rows.filter((r) => r.runs.length > 0)) {
    const errors = s.runs.filter((r) => r.result?.status === 'completed').length;
    const meanStd =
      s.mean === undefined || s.std === undefined
        ? '—'
        : errors > 1
          ? `${fmt(s.mean)} ± ${fmt(s.std)}`
          : fmt(s.mean);
    const runsCell = `${s.finished}/${s.expected}`;
    const order = ordering(s, byId.get(s.row.reference));
    if (order) (order.agrees ? agree : disagree).push(s.row.id);
    lines.push(
      `| ${s.row.label} | ${s.row.id} | \`${s.row.preset}\` | ${formatPaperError(s.row)} | ${oursCell(s)} | ${meanStd} | ${runsCell} | ${orderingCell(order)} | ${remark(s)} |`,
    );
  }
  if (agree.length + disagree.length > 0) {
    lines.push(
      '',
      `Against their reference rows, these rows agree with the paper's ordering: ${agree.join(', ') || 'none'}; these do not: ${disagree.join(', ') || 'none'}.`,
    );
  }
  const notRun = rows.filter((r) => r.runs.length === 0).map((r) => r.row.id);
  if (notRun.length > 0) lines.push('', `Rows not run: ${notRun.join(', ')}.`);
  lines.push('');
  lines.push(
    '![test error vs iteration](test-error.svg)',
    '',
    '![training loss vs iteration](train-loss.svg)',
    '',
  );
  for (const figure of figures) {
    lines.push(`![${figure.alt}](${figure.file})`, '');
    if (figure.caption) lines.push(figure.caption, '');
  }
  return lines.join('\n');
}

/**
 * One line per row: the mean over the row's runs of the metric at each logged iteration (runs of a row share
 * their logging schedule, so the iterations line up).
 */
export function curvePoints(
  rows: readonly RowSummary[],
  pick: (p: MetricPoint) => number | undefined,
): LinePoint[] {
  const points: LinePoint[] = [];
  for (const s of rows) {
    const byIteration = new Map<number, number[]>();
    for (const run of s.runs) {
      for (const p of run.metrics) {
        const value = pick(p);
        if (value === undefined || !Number.isFinite(value)) continue;
        const list = byIteration.get(p.iteration) ?? [];
        list.push(value);
        byIteration.set(p.iteration, list);
      }
    }
    for (const [x, values] of [...byIteration].sort((a, b) => a[0] - b[0])) {
      points.push({ series: s.row.id, x, y: values.reduce((a, b) => a + b, 0) / values.length });
    }
  }
  return points;
}

/** The rows of a table summarised from their runs, 'fail' judged by the rule the runs' scale calls for. */
export function summarizeTable(table: ExperimentTable, runsOf: (row: ExperimentRow) => RunRecord[]) {
  const runs = table.rows.map((row) => runsOf(row));
  const rule = failRuleFor(runs.flat().flatMap((r) => (r.config ? [r.config] : [])));
  const first = new Map(table.rows.map((row, i) => [row.id, summarizeRow(row, runs[i]!)]));
  return table.rows.map((row, i) => summarizeRow(row, runs[i]!, rule, first.get(row.reference)));
}

/**
 * Reads the runs of a table from `out`, writes its report.md and plots, and returns them. `figures` are
 * further figures (already written beside report.md) that the report shows below its plots.
 */
export async function writeTableReport(
  out: string,
  tableNumber: number,
  figures: readonly ReportFigure[] = [],
): Promise<TableReport> {
  const table = getTable(tableNumber);
  const rows = summarizeTable(table, (row) => readRowRuns(out, table.table, row.id));
  const markdown = renderReport(table, rows, figures);
  const dir = tableDir(out, table.table);
  await assertNoLinks(out, dir);
  const withRuns = rows.filter((s) => s.runs.length > 0);
  const series = withRuns.map((s) => s.row.id);
  const testError = await lineChartSvg({
    title: `${table.title.split(':')[0]}: test error`,
    xTitle: 'iteration',
    yTitle: 'test error (%)',
    points: curvePoints(withRuns, (p) => p.testErrorPercent),
    series,
    markers: true,
  });
  const trainLoss = await lineChartSvg({
    title: `${table.title.split(':')[0]}: training loss`,
    xTitle: 'iteration',
    yTitle: 'training loss',
    points: curvePoints(withRuns, (p) => p.trainLoss),
    series,
  });
  const reportPath = join(dir, 'report.md');
  const plots = { testError: join(dir, 'test-error.svg'), trainLoss: join(dir, 'train-loss.svg') };
  await writeTextAtomic(plots.testError, testError);
  await writeTextAtomic(plots.trainLoss, trainLoss);
  await writeTextAtomic(reportPath, markdown);
  return { table, markdown, reportPath, plots, rows };
}
