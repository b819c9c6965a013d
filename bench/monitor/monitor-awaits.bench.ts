/**
 * Issue 4, overhead (b): a promise-heavy CPU workload (1 000 000 awaited
 * async calls per repetition, a macrotask turn every 1 000; see
 * _awaits-target.ts) with and without monitoring: wall time, and the main
 * thread's own CPU time (which leaves out the watchdog thread). Each
 * variant runs the workload in a child process started with that set-up's
 * flags (Clinic Doctor's collector is injected at start-up).
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runScenario, type Variant } from '../core/_harness.js';
import { ALL, MONITORING, processSetup, usesLoopwise, type Monitoring } from './_monitoring.js';

async function run(m: Monitoring, quick: boolean): Promise<Record<string, number>> {
  setTimeout(() => {
    console.error('watchdog: 180 s');
    process.exit(3);
  }, 180_000).unref();
  const setup = processSetup(m);
  const child = fork(fileURLToPath(new URL('./_awaits-target.js', import.meta.url)), quick ? [m, '--quick'] : [m], {
    execArgv: ['--expose-gc', ...setup.execArgv],
    env: setup.env,
    cwd: setup.cwd,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const [result] = (await Promise.race([
      once(child, 'message'),
      once(child, 'exit').then(([code]) => {
        throw new Error(`workload exited (${code}) without a result`);
      }),
    ])) as [Record<string, number>];
    return result;
  } finally {
    if (child.exitCode === null) await once(child, 'exit');
    if (setup.cwd !== undefined) rmSync(setup.cwd, { recursive: true, force: true });
  }
}

const variant = (m: Monitoring): Variant => ({ loopwise: usesLoopwise(m), desc: MONITORING[m], custom: ({ quick }) => run(m, quick) });
const NAMES = ALL;

await runScenario({
  name: 'monitor-awaits',
  title: 'Issue 4: monitor overhead on a promise-heavy CPU workload (1 000 000 awaited async calls, a macrotask turn every 1 000)',
  variants: Object.fromEntries(NAMES.map((m) => [m, variant(m)])),
  tables: [
    {
      title: 'wall time per repetition, ms (median of 7 per process; lower is better)',
      unit: 'ms',
      rows: NAMES.map((m) => `${m}:wallMs`),
      baselines: ['none:wallMs'],
    },
    {
      title: "the main thread's CPU time per repetition, ms (/proc/thread-self/schedstat)",
      unit: 'ms',
      rows: NAMES.map((m) => `${m}:cpuMs`),
      baselines: ['none:cpuMs'],
    },
    {
      title: 'stalls past the threshold the loopwise monitor reported per process (the machine starving the process; nothing in the workload blocks)',
      unit: 'blocks',
      rows: NAMES.filter(usesLoopwise).map((m) => `${m}:blocks`),
      baselines: [],
    },
    {
      title: 'main-thread ms those captures held (Debugger.enable + pauses), per process',
      unit: 'ms',
      rows: NAMES.filter(usesLoopwise).map((m) => `${m}:captureMs`),
      baselines: [],
    },
  ],
});
