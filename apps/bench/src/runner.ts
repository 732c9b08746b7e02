// Runs the rows of a table on this machine: plan the jobs (one per row and run), execute each into its run
// folder (finished runs are skipped, interrupted ones resumed from their checkpoint), then write the table's
// report. `--task K --tasks N` runs one share of the plan (a Slurm array task, a Kubernetes index).
import type { BackendChoice } from '@resnet/backend';
import { prepareOutputFolder } from './files.js';
import type { JobOutcome } from './jobs/execute.js';
import type { Progress } from './jobs/messages.js';
import { type DataChoice, type Job, jobShare, type PlanArgs, planJobs } from './jobs/plan.js';
import { runJob } from './jobs/run-job.js';
import { type StopControl, stopOnAbort } from './jobs/stop.js';
import { type ReportFigure, type TableReport, writeTableReport } from './report.js';
import { tableDir } from './run-files.js';

export type { DataChoice };

export interface RunTableArgs extends PlanArgs {
  backend?: BackendChoice;
  /** A local copy of the extracted CIFAR folder. */
  dataDir?: string;
  /** Root of the run folders. */
  out: string;
  /**
   * wasm only: the threads its kernels run on (default every core, at most 8). Each thread count sums in its
   * own fixed order, so results agree across counts to float rounding and repeat bit for bit for one count.
   */
  threads?: number;
  /** Only this share of the plan: task `task` (0-based) of `tasks` (see jobShare). */
  share?: { task: number; tasks: number };
  /** 'process' (default): each job trains in a child process; 'inline': in this one (tests). */
  isolation?: 'process' | 'inline';
  /** Stops the table (signals: see jobs/stop.ts); or `signal`, a plain AbortSignal. */
  stop?: StopControl;
  signal?: AbortSignal;
  /** The trainer's progress display (default 'auto': a bar on a terminal, lines otherwise). */
  progress?: 'auto' | 'bar' | 'lines' | 'none';
  /** Inline only: called after every training iteration (the tests use it to interrupt a run part-way). */
  onIteration?: (info: { row: string; run: number; iteration: number }) => void;
  onProgress?: (job: Job, progress: Progress) => void;
  /** Figures for the report, made once every job finished (the demo's gradient figure). */
  figures?: (reportDir: string) => Promise<ReportFigure[]>;
  log?: (line: string) => void;
}

export interface RunTableOutcome {
  status: 'completed' | 'interrupted';
  /** The signal that interrupted the table, when one did (the CLI exits 128 + its number). */
  signal?: 'SIGINT' | 'SIGTERM';
  /** The jobs of this call (the share, with --task). */
  jobs: Job[];
  /** Run folders trained to the end by this call, skipped because already finished, and resumed. */
  trained: string[];
  skipped: string[];
  resumed: string[];
  report: TableReport;
}

export async function runTable(args: RunTableArgs): Promise<RunTableOutcome> {
  const log = args.log ?? ((line: string) => console.log(line));
  const planned = planJobs(args);
  const jobs = args.share ? jobShare(planned, args.share.task, args.share.tasks) : planned;
  await prepareOutputFolder(args.out);
  const stop = args.stop ?? stopOnAbort(args.signal);
  const share = args.share ? `, task ${args.share.task} of ${args.share.tasks}` : '';
  log(
    `table ${args.table}, scale ${args.scale}: ${jobs.length} of ${planned.length} job(s)${share}, backend ${args.backend ?? 'auto'}`,
  );
  const outcome: Omit<RunTableOutcome, 'report'> = {
    status: 'completed',
    jobs,
    trained: [],
    skipped: [],
    resumed: [],
  };
  for (const job of jobs) {
    if (stop.signal.aborted) {
      outcome.status = 'interrupted';
      break;
    }
    const result: JobOutcome = await runJob(job, {
      out: args.out,
      ...(args.dataDir ? { dataDir: args.dataDir } : {}),
      settings: {
        backend: args.backend ?? 'auto',
        ...(args.threads !== undefined ? { threads: args.threads } : {}),
      },
      isolation: args.isolation ?? 'process',
      stop,
      command: 'bench run',
      progress: args.progress ?? 'auto',
      onProgress: (progress) => args.onProgress?.(job, progress),
      onIteration: (iteration) => args.onIteration?.({ row: job.row, run: job.run, iteration }),
      log,
    });
    if ((result.resumedFrom ?? 0) > 0) outcome.resumed.push(result.dir);
    if (result.status === 'skipped') outcome.skipped.push(result.dir);
    else if (result.status === 'interrupted') {
      outcome.status = 'interrupted';
      break;
    } else outcome.trained.push(result.dir);
  }
  if (outcome.status === 'interrupted' && stop.reason) outcome.signal = stop.reason;
  const figures =
    outcome.status === 'completed' && args.figures ? await args.figures(tableDir(args.out, args.table)) : [];
  const report = await writeTableReport(args.out, args.table, figures);
  return { ...outcome, report };
}
