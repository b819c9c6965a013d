/**
 * Issue 4, overhead (a): an HTTP server on 127.0.0.1 (its own process,
 * _http-target.ts) under a bounded keep-alive load from this process, with
 * and without monitoring. Throughput (requests/s) and the server's CPU time
 * per request, for each monitoring set-up of _monitoring.ts.
 *
 * The load: 16 keep-alive connections from _load.ts. Per process: 1 s warm-up, then 5 windows of 2 s (3 with
 * --quick); the figure is the median window. Bounds: 2 000 000 requests per
 * window at most, 5 s without a response fails the run, 120 s per process.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { keepAliveLoad } from './_load.js';
import { fileURLToPath } from 'node:url';
import { median, runScenario, type Variant } from '../core/_harness.js';
import { ALL, MONITORING, processSetup, usesLoopwise, type Monitoring } from './_monitoring.js';

const CONNECTIONS = 16;
const WINDOW_MS = 2_000;
const MAX_PER_WINDOW = 2_000_000;

async function load(m: Monitoring, quick: boolean): Promise<Record<string, number>> {
  setTimeout(() => {
    console.error('watchdog: 120 s');
    process.exit(3);
  }, 120_000).unref();
  const setup = processSetup(m);
  const srv = fork(fileURLToPath(new URL('./_http-target.js', import.meta.url)), [m], {
    execArgv: setup.execArgv,
    env: setup.env,
    cwd: setup.cwd,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const { port } = await new Promise<{ port: number }>((resolve, reject) => {
      srv.once('message', resolve as (x: unknown) => void);
      srv.once('exit', (code) => reject(new Error(`server exited (${code})`)));
    });
    const cpu = (): Promise<{ us: number; served: number; count: number; captureMs: number }> =>
      new Promise((resolve) => {
        const on = (x: { type?: string; us: number; served: number; count: number; captureMs: number }): void => {
          if (x.type !== 'cpu') return;
          srv.off('message', on);
          resolve(x);
        };
        srv.on('message', on);
        srv.send({ type: 'cpu' });
      });
    const load = keepAliveLoad(port, CONNECTIONS);
    const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    await wait(1_000);
    const rps: number[] = [];
    const cpuPerReq: number[] = [];
    for (let w = 0; w < (quick ? 3 : 5); w++) {
      const c0 = await cpu();
      const d0 = load.done;
      const t0 = process.hrtime.bigint();
      await wait(WINDOW_MS);
      const c1 = await cpu();
      const n = load.done - d0;
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (n > MAX_PER_WINDOW) throw new Error('over the request bound');
      rps.push(n / s);
      cpuPerReq.push((c1.us - c0.us) / (c1.served - c0.served));
    }
    const end = await cpu();
    load.stop();
    // Blocks the monitor saw (stalls > threshold under the machine's load) and what their captures cost.
    return { rps: median(rps), cpuUs: median(cpuPerReq), blocks: end.count, captureMs: end.captureMs };
  } finally {
    const exited = srv.exitCode === null ? once(srv, 'exit') : Promise.resolve();
    srv.kill();
    await exited;
    if (setup.cwd !== undefined) rmSync(setup.cwd, { recursive: true, force: true });
  }
}

const variant = (m: Monitoring): Variant => ({ loopwise: usesLoopwise(m), desc: MONITORING[m], custom: ({ quick }) => load(m, quick) });
const NAMES = ALL;

await runScenario({
  name: 'monitor-http',
  title: 'Issue 4: monitor overhead on an HTTP server (127.0.0.1, 16 keep-alive connections, ~1 KB JSON per response)',
  variants: Object.fromEntries(NAMES.map((m) => [m, variant(m)])),
  tables: [
    {
      title: 'throughput, requests/s (median of 5 windows of 2 s per process; higher is better)',
      unit: 'req/s',
      rows: NAMES.map((m) => `${m}:rps`),
      baselines: ['none:rps'],
      note: 'The ratio column is throughput relative to no monitoring: 0.99× is a 1 % loss.',
    },
    {
      title: "the server's CPU time per request, µs (user + system; lower is better)",
      unit: 'µs',
      rows: NAMES.map((m) => `${m}:cpuUs`),
      baselines: ['none:cpuUs'],
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
