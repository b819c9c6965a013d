/**
 * Issue 4, overhead, measured as pairs: the same process runs the workload
 * with the monitor off, then on, then on, then off (ABBA, repeated), so each
 * "on" repetition has an "off" neighbour run a fraction of a second apart
 * on the same JIT-warm code. The figure is the median over pairs of
 * on / off. A shared machine that changes speed between processes (seen
 * here: the same set-up at 17k and 32k req/s in two processes) changes both
 * halves of a pair alike, which the one-process-per-variant tables of
 * monitor-awaits and monitor-http cannot cancel.
 *
 * "On" is the steady state: `monitorLoop()` started and its `ready` awaited
 * before the timed repetition, stopped and its `closed` awaited after.
 * The one-off start-up (a worker isolate) is reported apart: ms to `ready`
 * and the process CPU it took.
 *
 * Workloads: `awaits` (1 000 000 awaited async calls, a setImmediate turn
 * every 1 000: the promise-heavy CPU case) and `http` (an HTTP server in a
 * child process, 16 keep-alive connections from this one, phases of 1.5 s
 * with the server's monitor off / on by IPC; the figure is requests per
 * phase). Monitors: the default (threshold 100 ms, a 25 ms heartbeat),
 * threshold 40 (10 ms, Clinic Doctor's sampling rate), and the default with
 * `gc: true` (a GC PerformanceObserver, what made it opt-in).
 */
import { fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { median, runScenario, settle, type Variant } from '../core/_harness.js';
import { rep } from './_awaits-work.js';
import { keepAliveLoad } from './_load.js';
import { threadCpuMs } from './_threadcpu.js';

type Kind = 'awaits' | 'http' | 'idle';
/** The monitors compared: the default, a 40 ms threshold, and the default timing every GC (`gc: true`). */
const MONITORS = {
  monitor: { blockThresholdMs: 100 },
  'monitor-40': { blockThresholdMs: 40 },
  'monitor-gc': { blockThresholdMs: 100, gc: true },
} as const;
type Mon = keyof typeof MONITORS;
const DESC: Record<Mon, string> = {
  monitor: 'monitorLoop() (threshold 100 ms, 25 ms heartbeat)',
  'monitor-40': 'monitorLoop({ blockThresholdMs: 40 }) (10 ms heartbeat)',
  'monitor-gc': 'monitorLoop({ gc: true }) (the default, timing every garbage collection)',
};

async function startupCost(threshold: number): Promise<{ readyMs: number; cpuMs: number }> {
  const { monitorLoop } = await import('loopwise/monitor');
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const m = monitorLoop({ blockThresholdMs: threshold });
  await m.ready;
  const readyMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const c = process.cpuUsage(c0);
  m.stop();
  await m.closed;
  return { readyMs, cpuMs: (c.user + c.system) / 1000 };
}

// --- awaits -------------------------------------------------------------

async function awaitsPairs(mon: Mon, quick: boolean): Promise<Record<string, number>> {
  const { monitorLoop } = await import('loopwise/monitor');
  const opts = MONITORS[mon];
  const timed = async (on: boolean): Promise<{ wall: number; cpu: number; blocks: number }> => {
    const m = on ? monitorLoop(opts) : null;
    if (m !== null) await m.ready;
    await settle();
    const c0 = threadCpuMs();
    const t0 = process.hrtime.bigint();
    await rep();
    const wall = Number(process.hrtime.bigint() - t0) / 1e6;
    const cpu = threadCpuMs() - c0;
    const blocks = m?.totals().blockCount ?? 0;
    if (m !== null) {
      m.stop();
      await m.closed;
    }
    return { wall, cpu, blocks };
  };
  for (let i = 0; i < 2; i++) await timed(i === 1); // warm-up, both ways
  const wall: number[] = [];
  const cpu: number[] = [];
  let blocks = 0;
  const pairs = quick ? 4 : 12;
  for (let p = 0; p < pairs; p++) {
    // ABBA: off,on then on,off, so neither is always first.
    const first = p % 2 === 0 ? await timed(false) : await timed(true);
    const second = p % 2 === 0 ? await timed(true) : await timed(false);
    const [off, on] = p % 2 === 0 ? [first, second] : [second, first];
    wall.push(on.wall / off.wall);
    cpu.push(on.cpu / off.cpu);
    blocks += on.blocks;
  }
  const start = await startupCost(opts.blockThresholdMs);
  return { wall: median(wall), cpu: median(cpu), blocks, ...start };
}

// --- idle: the monitor's own CPU, thread by thread ----------------------

/** ns on CPU of one thread of this process (Linux schedstat). */
function threadNs(tid: string): number {
  try {
    return Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return 0; // the thread has exited
  }
}
const tids = (): Set<string> => new Set(readdirSync('/proc/self/task'));

/**
 * What the monitor itself costs, measured where nothing else runs: an idle
 * process (one ref'd timer keeps it alive), phases of 2 s with the monitor
 * on and off in pairs. The main thread's extra CPU per second (its
 * heartbeats, with the wake-ups from epoll they need) and the watchdog
 * thread's CPU per second (its checks of the heartbeat). On a busy process
 * the heartbeat costs about the same: its timer shares the loop's turn.
 */
async function idlePairs(mon: Mon, quick: boolean, bare = false): Promise<Record<string, number>> {
  const { monitorLoop } = await import('loopwise/monitor');
  const threshold = MONITORS[mon].blockThresholdMs;
  const PHASE = 2_000;
  const keep = setInterval(() => {}, 1_000);
  const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const main = String(process.pid);
  const phase = async (on: boolean): Promise<{ mainUs: number; watchdogUs: number }> => {
    const before = tids();
    // bare: a plain setInterval at the heartbeat's period, no monitor (what any timer costs).
    const period = Math.min(50, Math.max(10, threshold / 4));
    const plain = on && bare ? setInterval(() => {}, period) : null;
    const m = on && !bare ? monitorLoop(MONITORS[mon]) : null;
    if (m !== null) await m.ready;
    await wait(100);
    const theirs = [...tids()].filter((t) => !before.has(t));
    const m0 = threadNs(main);
    const w0 = theirs.map(threadNs);
    const t0 = process.hrtime.bigint();
    await wait(PHASE);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const mainUs = (threadNs(main) - m0) / 1e3 / s;
    const watchdogUs = theirs.reduce((a, t, i) => a + threadNs(t) - w0[i]!, 0) / 1e3 / s;
    if (plain !== null) clearInterval(plain);
    if (m !== null) {
      m.stop();
      await m.closed;
    }
    return { mainUs, watchdogUs };
  };
  const main_: number[] = [];
  const dog: number[] = [];
  for (let p = 0; p < (quick ? 2 : 5); p++) {
    const a = await phase(p % 2 === 1);
    const b = await phase(p % 2 === 0);
    const [off, on] = p % 2 === 0 ? [a, b] : [b, a];
    main_.push(on.mainUs - off.mainUs);
    dog.push(on.watchdogUs);
  }
  clearInterval(keep);
  const beatsPerS = 1_000 / Math.min(50, Math.max(10, threshold / 4));
  const mainUs = median(main_);
  return { mainUsPerS: mainUs, beatUs: mainUs / beatsPerS, watchdogUsPerS: median(dog), mainShare: mainUs / 1e6 };
}

// --- http ---------------------------------------------------------------

const CONNECTIONS = 16;
const PHASE_MS = 1_500;

async function httpPairs(mon: Mon, quick: boolean): Promise<Record<string, number>> {
  const srv = fork(fileURLToPath(import.meta.url), ['--serve', mon], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  type Reply = { type: string; port?: number; blocks?: number; readyMs?: number; cpuMs?: number };
  // One question at a time: one listener each for the answer and for the server dying.
  let pending: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;
  srv.on('message', (r: Reply) => pending?.resolve(r));
  srv.once('exit', (code) => pending?.reject(new Error(`server exited (${code})`)));
  const ask = (msg: object): Promise<Reply> =>
    new Promise((resolve, reject) => {
      pending = { resolve, reject };
      srv.send(msg);
    });
  try {
    const { port } = await ask({ type: 'hello' });
    const load = keepAliveLoad(port!, CONNECTIONS);
    const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    const phase = async (on: boolean): Promise<{ rps: number; blocks: number }> => {
      const r = await ask({ type: on ? 'on' : 'off' });
      const d0 = load.done;
      const t0 = process.hrtime.bigint();
      await wait(PHASE_MS);
      const n = load.done - d0;
      return { rps: n / (Number(process.hrtime.bigint() - t0) / 1e9), blocks: r.blocks ?? 0 };
    };
    await wait(1_000);
    await phase(true);
    await phase(false);
    const ratios: number[] = [];
    let blocks = 0;
    const pairs = quick ? 3 : 8;
    for (let p = 0; p < pairs; p++) {
      const a = await phase(p % 2 === 1);
      const b = await phase(p % 2 === 0);
      const [off, on] = p % 2 === 0 ? [a, b] : [b, a];
      ratios.push(on.rps / off.rps);
    }
    const end = await ask({ type: 'off' });
    blocks = end.blocks ?? 0;
    load.stop();
    const start = await ask({ type: 'startup' });
    return { rps: median(ratios), blocks, readyMs: start.readyMs!, cpuMs: start.cpuMs! };
  } finally {
    const exited = srv.exitCode === null ? once(srv, 'exit') : Promise.resolve();
    srv.kill();
    await exited;
  }
}

/** The server side of `http`: argv `--serve <monitor>`. */
async function serve(mon: Mon): Promise<void> {
  const opts = MONITORS[mon];
  const http = await import('node:http');
  const { monitorLoop } = await import('loopwise/monitor');
  const items = Array.from({ length: 20 }, (_, i) => ({ id: i, name: `item-${i}`, tags: ['a', 'b', 'c'], price: i * 1.5 }));
  let served = 0;
  const server = http.createServer((_req, res) => {
    const body = JSON.stringify({ n: served++, items });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  let m: ReturnType<typeof monitorLoop> | null = null;
  let blocks = 0;
  const off = async (): Promise<void> => {
    if (m === null) return;
    blocks += m.totals().blockCount;
    m.stop();
    await m.closed;
    m = null;
  };
  process.on('message', async (msg: { type: string }) => {
    if (msg.type === 'hello') {
      const a = server.address();
      process.send!({ type: 'hello', port: typeof a === 'object' && a !== null ? a.port : 0 });
    } else if (msg.type === 'on') {
      if (m === null) {
        m = monitorLoop(opts);
        await m.ready;
      }
      process.send!({ type: 'on' });
    } else if (msg.type === 'off') {
      await off();
      process.send!({ type: 'off', blocks });
    } else if (msg.type === 'startup') {
      process.send!({ type: 'startup', ...(await startupCost(opts.blockThresholdMs)) });
    }
  });
  process.on('disconnect', () => process.exit(0));
  setTimeout(() => process.exit(0), 180_000).unref();
}

const argv = process.argv.slice(2);
if (argv[0] === '--serve') {
  await serve(argv[1] as Mon);
} else {
  const variant = (kind: Kind, mon: Mon): Variant => ({
    loopwise: true,
    desc: `${kind === 'awaits' ? '10⁶ awaits' : kind === 'idle' ? "the monitor's own CPU (idle process)" : 'HTTP server'}, ${DESC[mon]}, on vs off in pairs`,
    custom: ({ quick }) => (kind === 'awaits' ? awaitsPairs(mon, quick) : kind === 'idle' ? idlePairs(mon, quick) : httpPairs(mon, quick)),
  });
  const bareInterval: Variant = {
    loopwise: false,
    desc: 'no monitor: a bare `setInterval(() => {}, 25)` (the default heartbeat period) in the same idle process, on vs off in pairs',
    custom: ({ quick }) => idlePairs('monitor', quick, true),
  };
  const names = ['idle:monitor', 'idle:monitor-40', 'awaits:monitor', 'awaits:monitor-40', 'awaits:monitor-gc', 'http:monitor', 'http:monitor-40', 'http:monitor-gc'];
  await runScenario({
    name: 'monitor-paired',
    title: 'Issue 4: the monitor on vs off in the same process, in ABBA pairs (steady state; start-up apart)',
    variants: { ...Object.fromEntries(names.map((n) => [n.replace(':', '-'), variant(n.split(':')[0] as Kind, n.split(':')[1] as Mon)])), 'idle-interval-25': bareInterval },
    tables: [
      {
        title: "the monitor's own CPU, measured in an idle process (2 s phases on/off in pairs): main-thread µs per second (its heartbeats), µs per heartbeat, the watchdog thread's µs per second",
        unit: 'µs',
        rows: [
          'idle-monitor:mainUsPerS',
          'idle-monitor:beatUs',
          'idle-monitor:watchdogUsPerS',
          'idle-monitor-40:mainUsPerS',
          'idle-monitor-40:beatUs',
          'idle-monitor-40:watchdogUsPerS',
          'idle-interval-25:mainUsPerS',
          'idle-interval-25:beatUs',
        ],
        baselines: [],
        note: 'In an idle process each heartbeat is a wake-up from epoll: compare `idle-interval-25`, a bare timer at the same period, which costs the same per wake-up. In a busy process the heartbeat runs in a loop turn that happens anyway (the awaits and HTTP rows).',
      },
      {
        title: '10⁶ awaits: wall time on / off, median of 12 pairs per process (1.000 = no cost; lower is better)',
        unit: '×',
        rows: ['awaits-monitor:wall', 'awaits-monitor-40:wall', 'awaits-monitor-gc:wall'],
        baselines: [],
      },
      {
        title: "10⁶ awaits: the main thread's CPU time on / off (/proc/thread-self/schedstat)",
        unit: '×',
        rows: ['awaits-monitor:cpu', 'awaits-monitor-40:cpu', 'awaits-monitor-gc:cpu'],
        baselines: [],
      },
      {
        title: 'HTTP server: requests/s on / off, median of 8 pairs of 1.5 s phases per process (1.000 = no loss; higher is better)',
        unit: '×',
        rows: ['http-monitor:rps', 'http-monitor-40:rps', 'http-monitor-gc:rps'],
        baselines: [],
      },
      {
        title: 'stalls past the threshold reported during the "on" halves, per process (nothing in the workloads blocks: the machine starving the process)',
        unit: 'blocks',
        rows: names.filter((n) => !n.startsWith('idle')).map((n) => `${n.replace(':', '-')}:blocks`),
        baselines: [],
      },
      {
        title: 'the one-off start: ms from monitorLoop() to ready (a worker thread starting), and the process CPU ms it took',
        unit: 'ms',
        rows: ['awaits-monitor:readyMs', 'awaits-monitor:cpuMs', 'http-monitor:readyMs', 'http-monitor:cpuMs'],
        baselines: [],
      },
    ],
  });
}
