/**
 * Issue 5's performance target: the doctor's overhead on the target's wall
 * time, ≤ 3 %, for a CPU-bound and an I/O-bound program, side by side with
 * Clinic.js Doctor. Each variant process runs the two targets (the built
 * `_cpu-target.js` and `_io-target.js`) a few times as child processes:
 * plainly, under `loopwise doctor`, under `clinic doctor`. A target times
 * its own work and writes it to $LW_BENCH_OUT, so `cpu`/`io` are the
 * target's wall time and exclude the tools' start-up and reports;
 * `cpuCmd`/`ioCmd` are the whole command's wall time, and
 * `cpuReport`/`ioReport` the doctor's time to report (its whole command less
 * the target's run as report.json records it: the doctor's start-up plus its
 * post-processing).
 *
 * Clinic needs NO_INSIGHT=1 without a TTY, or it waits on a prompt forever.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, runScenario, type Variant } from '../core/_harness.js';

const DOCTOR = fileURLToPath(new URL('../../../dist/cli/bin.js', import.meta.url));
const CLINIC = fileURLToPath(new URL('../../../node_modules/clinic/bin.js', import.meta.url));
const TARGETS = { cpu: fileURLToPath(new URL('./_cpu-target.js', import.meta.url)), io: fileURLToPath(new URL('./_io-target.js', import.meta.url)) };

type Tool = 'plain' | 'loopwise' | 'clinic';

/** One run of a target under a tool: the target's own ms, the command's ms, the doctor's time to report. */
function once(tool: Tool, target: string): { self: number; cmd: number; report?: number } {
  const dir = mkdtempSync(join(tmpdir(), 'loopwise-bench-doctor-'));
  try {
    const outFile = join(dir, 'self.json');
    const node = [process.execPath, target];
    const argv =
      tool === 'plain'
        ? node
        : tool === 'loopwise'
          ? [process.execPath, DOCTOR, 'doctor', '--out', join(dir, 'doctor'), '--', ...node]
          : [process.execPath, CLINIC, 'doctor', '--no-open', '--dest', join(dir, 'clinic'), '--', ...node];
    const t0 = process.hrtime.bigint();
    const r = spawnSync(argv[0]!, argv.slice(1), {
      cwd: dir,
      encoding: 'utf8',
      timeout: 240_000,
      env: { ...process.env, LW_BENCH_OUT: outFile, NO_INSIGHT: '1' },
    });
    const cmd = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0 || !existsSync(outFile)) throw new Error(`${tool} exited ${r.status} ${r.signal ?? ''}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
    const self = (JSON.parse(readFileSync(outFile, 'utf8')) as { ms: number }).ms;
    if (tool !== 'loopwise') return { self, cmd };
    const { durationMs } = JSON.parse(readFileSync(join(dir, 'doctor', 'report.json'), 'utf8')) as { durationMs: number };
    return { self, cmd, report: cmd - durationMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function variant(tool: Tool, desc: string): Variant {
  return {
    loopwise: false,
    desc,
    custom: async ({ quick }) => {
      const out: Record<string, number> = {};
      for (const [name, target] of Object.entries(TARGETS)) {
        const runs = Array.from({ length: quick ? 1 : Number(process.env.LW_BENCH_REPS ?? 3) }, () => once(tool, target));
        out[name] = median(runs.map((x) => x.self));
        out[`${name}Cmd`] = median(runs.map((x) => x.cmd));
        if (tool === 'loopwise') out[`${name}Report`] = median(runs.map((x) => x.report!));
      }
      return out;
    },
  };
}

// clinic doctor takes 30-60 s per run on a loaded 2-core machine (its analysis), so LW_BENCH_REPS=1 may be needed.
const note = `A figure is the median over the runner's processes of each process's median of ${process.env.LW_BENCH_REPS ?? 3} run(s) of the target (no warm-up run).`;

await runScenario({
  name: 'doctor',
  title: 'loopwise doctor: overhead on the target, vs clinic doctor (issue 5)',
  variants: {
    plain: variant('plain', '`node target.js`'),
    loopwise: variant('loopwise', '`loopwise doctor --out <tmp> -- node target.js` (default threshold 100 ms, CPU profile on)'),
    clinic: variant('clinic', '`clinic doctor --no-open --dest <tmp> -- node target.js` with NO_INSIGHT=1'),
  },
  tables: [
    { title: 'CPU-bound target (120 chunks of a few ms, a loop turn between): its own wall time', unit: 'ms', rows: ['plain:cpu', 'loopwise:cpu', 'clinic:cpu'], baselines: ['plain:cpu'], note },
    { title: 'I/O-bound target (2 000 HTTP requests on 127.0.0.1, 8 at a time, a file read each): its own wall time', unit: 'ms', rows: ['plain:io', 'loopwise:io', 'clinic:io'], baselines: ['plain:io'], note },
    { title: 'Whole command, start to report written', unit: 'ms', rows: ['plain:cpuCmd', 'loopwise:cpuCmd', 'clinic:cpuCmd', 'plain:ioCmd', 'loopwise:ioCmd', 'clinic:ioCmd'], baselines: ['plain:cpuCmd', 'plain:ioCmd'] },
    { title: 'loopwise doctor: time to report (command less the target\'s run in report.json)', unit: 'ms', rows: ['loopwise:cpuReport', 'loopwise:ioReport'], baselines: [] },
  ],
});
