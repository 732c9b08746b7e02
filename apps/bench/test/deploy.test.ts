// The deploy files of "Many machines": no cluster runs here, so each is parsed and checked for what a cluster
// needs: the Kubernetes Indexed Job (indexed completions, per-index retries, the shared volume, the share count
// passed to the pods, the bench run with --task-from-env), the Slurm array script (an array with a cap, the
// bench run with --task-from-env, exec so that signals reach it; valid bash) and the Dockerfile (node:20, the
// workspace installed from the lockfile).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const deploy = join(import.meta.dirname, '..', 'deploy');

describe('deploy files', () => {
  it('the Kubernetes manifest is an Indexed Job of `bench run --task-from-env` over a shared volume', () => {
    const job = parse(readFileSync(join(deploy, 'kubernetes', 'bench-job.yaml'), 'utf8'));
    expect(job).toMatchObject({ apiVersion: 'batch/v1', kind: 'Job' });
    const { spec } = job;
    expect(spec.completionMode).toBe('Indexed');
    expect(spec.completions).toBeGreaterThan(1);
    expect(spec.parallelism).toBeGreaterThan(0);
    expect(spec.backoffLimitPerIndex).toBeGreaterThan(0);
    const pod = spec.template.spec;
    expect(pod.restartPolicy).toBe('Never');
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60);
    const [container] = pod.containers;
    expect(container.args.slice(0, 1)).toEqual(['run']);
    expect(container.args).toContain('--task-from-env');
    const out = container.args[container.args.indexOf('--out') + 1] as string;
    const env = Object.fromEntries(
      container.env.map((e: { name: string; value: string }) => [e.name, e.value]),
    );
    expect(Number(env.JOB_COMPLETIONS)).toBe(spec.completions);
    const mount = container.volumeMounts.find((m: { mountPath: string }) => out.startsWith(m.mountPath));
    expect(mount).toBeDefined();
    const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
    expect(volume.persistentVolumeClaim.claimName).toBeTruthy();
  });

  it('the Slurm script is an array with a concurrency cap that execs `bench run --task-from-env`', () => {
    const path = join(deploy, 'slurm', 'bench-array.sbatch');
    const script = readFileSync(path, 'utf8');
    expect(script).toMatch(/^#SBATCH --array=0-\d+%\d+$/m);
    expect(script).toMatch(/^#SBATCH --signal=B:TERM@\d+$/m);
    expect(script).toMatch(/^exec node --conditions=@resnet\/source --import tsx src\/cli\.ts run \\$/m);
    expect(script).toContain('--task-from-env --out "$BENCH_OUT"');
    expect(spawnSync('bash', ['-n', path]).status).toBe(0);
  });

  it('the Dockerfile installs the workspace from the lockfile on node:20', () => {
    const dockerfile = readFileSync(join(deploy, 'kubernetes', 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20\S*$/m);
    expect(dockerfile).toMatch(/^RUN pnpm install --frozen-lockfile$/m);
    expect(dockerfile).toContain(
      'ENTRYPOINT ["node", "--conditions=@resnet/source", "--import", "tsx", "src/cli.ts"]',
    );
  });
});
