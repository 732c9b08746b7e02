// Which share of a plan an array task runs, from its scheduler's environment: a Slurm job array task
// (SLURM_ARRAY_TASK_ID, its array's SLURM_ARRAY_TASK_MIN/STEP and SLURM_ARRAY_TASK_COUNT) or a Kubernetes
// Indexed Job's pod (JOB_COMPLETION_INDEX; Kubernetes does not tell a pod its Job's completions, so the
// manifest passes them as JOB_COMPLETIONS, or `--tasks` gives them).

export interface TaskFromEnv {
  /** 0-based share. */
  task: number;
  tasks: number;
  /** Which variables gave them, for the log. */
  source: string;
}

function integer(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${value} is not a non-negative integer`);
  return n;
}

/** The task and task count from the environment, or an error saying which variables were looked for. */
export function taskFromEnv(env: NodeJS.ProcessEnv = process.env, tasksOption?: number): TaskFromEnv {
  const slurmId = integer(env, 'SLURM_ARRAY_TASK_ID');
  if (slurmId !== undefined) {
    const count = tasksOption ?? integer(env, 'SLURM_ARRAY_TASK_COUNT');
    if (count === undefined) {
      throw new Error('SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not: pass --tasks N');
    }
    const min = integer(env, 'SLURM_ARRAY_TASK_MIN') ?? 0;
    const step = integer(env, 'SLURM_ARRAY_TASK_STEP') || 1;
    const task = (slurmId - min) / step;
    return {
      task,
      tasks: count,
      source: `SLURM_ARRAY_TASK_ID=${slurmId} (min ${min}, step ${step}) of SLURM_ARRAY_TASK_COUNT=${count}`,
    };
  }
  const index = integer(env, 'JOB_COMPLETION_INDEX');
  if (index !== undefined) {
    const count = tasksOption ?? integer(env, 'JOB_COMPLETIONS');
    if (count === undefined) {
      throw new Error(
        'JOB_COMPLETION_INDEX is set but not the Job’s completions: set JOB_COMPLETIONS in the manifest ' +
          '(as deploy/kubernetes/bench-job.yaml does) or pass --tasks N',
      );
    }
    return {
      task: index,
      tasks: count,
      source: `JOB_COMPLETION_INDEX=${index} of ${tasksOption !== undefined ? `--tasks ${count}` : `JOB_COMPLETIONS=${count}`}`,
    };
  }
  throw new Error(
    '--task-from-env found neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor JOB_COMPLETION_INDEX (a ' +
      'Kubernetes Indexed Job); pass --task K --tasks N',
  );
}
