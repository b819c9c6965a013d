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

type Tool = 'plain' | 'loopwise' | 'loopwise-noprofile' | 'cpuprof' | 'clinic';

/** One run of a target under a tool: the target's own ms, the command's ms, the doctor's time to report. */
interface Run {
  self: number;
  main: number;
  proc: number;
  cmd: number;
  report?: number;
}

function once(tool: Tool, target: string): Run {
  const dir = mkdtempSync(join(tmpdir(), 'loopwise-bench-doctor-'));
  try {
    const outFile = join(dir, 'self.json');
    const node = [process.execPath, target];
    const doctor = (extra: string[]): string[] => [process.execPath, DOCTOR, 'doctor', ...extra, '--out', join(dir, 'doctor'), '--', ...node];
    const argv =
      tool === 'plain'
        ? node
        : tool === 'loopwise'
          ? doctor([])
          : tool === 'loopwise-noprofile'
            ? doctor(['--no-profile'])
            : tool === 'cpuprof'
              ? [process.execPath, '--cpu-prof', '--cpu-prof-interval=10000', `--cpu-prof-dir=${join(dir, 'prof')}`, target]
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
    const r0 = JSON.parse(readFileSync(outFile, 'utf8')) as { ms: number; mainCpuMs: number; procCpuMs: number };
    const run: Run = { self: r0.ms, main: r0.mainCpuMs, proc: r0.procCpuMs, cmd };
    if (!tool.startsWith('loopwise')) return run;
    const { durationMs } = JSON.parse(readFileSync(join(dir, 'doctor', 'report.json'), 'utf8')) as { durationMs: number };
    return { ...run, report: cmd - durationMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Pairs: the target plainly and under the tool, one right after the other
 * (ABBA), so a machine that changes speed between processes changes both
 * halves alike; the figure is the median of tool / plain over the pairs.
 */
function variant(tool: Exclude<Tool, 'plain'>, desc: string): Variant {
  return {
    loopwise: false,
    desc,
    custom: async ({ quick }) => {
      const out: Record<string, number> = {};
      const pairs = quick ? 1 : tool === 'clinic' ? 2 : Number(process.env.LW_BENCH_PAIRS ?? 4);
      for (const [name, target] of Object.entries(TARGETS)) {
        const ratio: number[] = [];
        const mainRatio: number[] = [];
        const procRatio: number[] = [];
        const plain: number[] = [];
        const under: Run[] = [];
        for (let p = 0; p < pairs; p++) {
          const first = p % 2 === 0 ? once('plain', target) : once(tool, target);
          const second = p % 2 === 0 ? once(tool, target) : once('plain', target);
          const [a, b] = p % 2 === 0 ? [first, second] : [second, first];
          plain.push(a.self);
          under.push(b);
          ratio.push(b.self / a.self);
          mainRatio.push(b.main / a.main);
          procRatio.push(b.proc / a.proc);
        }
        out[name] = median(ratio);
        out[`${name}MainCpu`] = median(mainRatio);
        out[`${name}ProcCpu`] = median(procRatio);
        out[`${name}Plain`] = median(plain);
        out[`${name}Ms`] = median(under.map((x) => x.self));
        out[`${name}Cmd`] = median(under.map((x) => x.cmd));
        if (tool.startsWith('loopwise')) out[`${name}Report`] = median(under.map((x) => x.report!));
      }
      return out;
    },
  };
}

const note = 'A figure is the median over the runner\'s processes of each process\'s median over pairs (4 per target; 2 for clinic, whose analysis takes 30–60 s a run).';
const TOOLS = ['loopwise', 'loopwise-noprofile', 'cpuprof', 'clinic'] as const;

await runScenario({
  name: 'doctor',
  title: 'loopwise doctor: overhead on the target, vs clinic doctor and the V8 CPU profiler alone (issue 5)',
  variants: {
    loopwise: variant('loopwise', '`loopwise doctor --out <tmp> -- node target.js` (default threshold 100 ms, CPU profile on)'),
    'loopwise-noprofile': variant('loopwise-noprofile', '`loopwise doctor --no-profile …` (monitor only; GC timed by an observer)'),
    cpuprof: variant('cpuprof', '`node --cpu-prof --cpu-prof-interval=10000 target.js`: V8\'s CPU profiler alone at the doctor\'s rate, no loopwise (the floor of any profile-based tool)'),
    clinic: variant('clinic', '`clinic doctor --no-open --dest <tmp> -- node target.js` with NO_INSIGHT=1'),
  },
  tables: [
    {
      title: 'CPU-bound target (1 000 chunks of ~2 ms, a loop turn between; ~2 s): its own wall time under the tool / plain, in pairs',
      unit: '×',
      rows: TOOLS.map((t) => `${t}:cpu`),
      baselines: [],
      note,
    },
    {
      title: 'I/O-bound target (6 000 HTTP requests on 127.0.0.1, 8 at a time, a file read each; ~3 s): its own wall time under the tool / plain, in pairs',
      unit: '×',
      rows: TOOLS.map((t) => `${t}:io`),
      baselines: [],
      note,
    },
    {
      title: "CPU time of the target's main thread under the tool / plain, in pairs (/proc/thread-self/schedstat: what the program's own thread paid; steadier than wall time on a shared machine)",
      unit: '×',
      rows: [...TOOLS.map((t) => `${t}:cpuMainCpu`), ...TOOLS.map((t) => `${t}:ioMainCpu`)],
      baselines: [],
    },
    {
      title: "CPU time of the whole target process (every thread: the watchdog, V8's profiler thread, GC helpers) under the tool / plain, in pairs",
      unit: '×',
      rows: [...TOOLS.map((t) => `${t}:cpuProcCpu`), ...TOOLS.map((t) => `${t}:ioProcCpu`)],
      baselines: [],
    },
    {
      title: 'The same in ms: plain (from the loopwise pairs) and under each tool',
      unit: 'ms',
      rows: ['loopwise:cpuPlain', ...TOOLS.map((t) => `${t}:cpuMs`), 'loopwise:ioPlain', ...TOOLS.map((t) => `${t}:ioMs`)],
      baselines: [],
    },
    { title: 'Whole command, start to report written', unit: 'ms', rows: [...TOOLS.map((t) => `${t}:cpuCmd`), ...TOOLS.map((t) => `${t}:ioCmd`)], baselines: [] },
    { title: "loopwise doctor: time to report (command less the target's run in report.json)", unit: 'ms', rows: ['loopwise:cpuReport', 'loopwise:ioReport'], baselines: [] },
  ],
});
