/**
 * Scenario 6, the seed's figure: 100 concurrent GETs to a local endpoint
 * that answers after 100 ms (node:http on 127.0.0.1, in its own child
 * process), with node:http and a keep-alive agent. loopwise `gather` and
 * `map` (each request in a task, with the task's signal) vs raw
 * `Promise.all`. Per process: one cold batch (new connections), then warm
 * batches (median kept), then 10 sequential requests (~1 s).
 * Bounds: 5 s timeout per request, 60 s watchdog per process.
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { median, runScenario } from './_harness.js';

type Get = (signal?: AbortSignal) => Promise<string>;
type Batch = (get: Get) => Promise<string[]>;

const B = 100;

async function client(batchOf: () => Promise<Batch>, quick: boolean): Promise<Record<string, number>> {
  setTimeout(() => {
    console.error('watchdog: 60 s');
    process.exit(3);
  }, 60_000).unref();
  const srv = fork(fileURLToPath(new URL('./_http-server.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const { port } = await new Promise<{ port: number }>((r) => srv.once('message', r as (m: unknown) => void));
    const url = `http://127.0.0.1:${port}/`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
    const get: Get = (signal) =>
      new Promise((resolve, reject) => {
        const req = http.get(url, { agent, signal, timeout: 5000 }, (res) => {
          let b = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (b += d));
          res.on('end', () => resolve(b));
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error('request timeout (5 s)')));
        req.on('error', reject);
      });
    const batch = await batchOf();
    const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
    const timed = async (): Promise<number> => {
      const t0 = process.hrtime.bigint();
      const r = await batch(get);
      const t = ms(t0);
      if (r.length !== B || r.some((x) => x !== 'ok')) throw new Error('bad response');
      return t;
    };
    const cold = await timed();
    const warm: number[] = [];
    for (let i = 0; i < (quick ? 3 : 7); i++) warm.push(await timed());
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 10; i++) if ((await seqGet(get)) !== 'ok') throw new Error('bad response');
    const seq10 = ms(t0);
    agent.destroy();
    return { warm: median(warm), cold, seq10 };
  } finally {
    srv.kill();
  }
}

/** One sequential request, in the variant's style (set per variant). */
let seqGet: (get: Get) => Promise<string> = (get) => get();

async function loopwiseSeq(): Promise<void> {
  const { spawn } = await import('loopwise');
  seqGet = (get) => spawn((signal) => get(signal));
}

await runScenario({
  name: 'http',
  title: 'Scenario 6: 100 concurrent GETs to a local 100 ms endpoint (node:http, keep-alive agent)',
  variants: {
    'promise-all': {
      loopwise: false,
      desc: '`Promise.all(Array.from({ length: 100 }, () => get()))`; sequential: `await get()`',
      custom: ({ quick }) => client(async () => (get) => Promise.all(Array.from({ length: B }, () => get())), quick),
    },
    'promise-all-signal': {
      loopwise: false,
      desc: 'raw `Promise.all`, each request given the signal of one shared AbortController (the same listener plumbing as a task signal)',
      custom: ({ quick }) =>
        client(async () => {
          const ac = new AbortController();
          seqGet = (get) => get(ac.signal);
          return (get) => Promise.all(Array.from({ length: B }, () => get(ac.signal)));
        }, quick),
    },
    'promise-all-als': {
      loopwise: false,
      desc: 'raw `Promise.all` run inside a foreign `AsyncLocalStorage.run` (no loopwise): the ALS floor alone',
      custom: async ({ quick }) => {
        const { AsyncLocalStorage } = await import('node:async_hooks');
        const als = new AsyncLocalStorage<object>();
        return als.run({}, () => client(async () => (get) => Promise.all(Array.from({ length: B }, () => get())), quick));
      },
    },
    'loopwise-gather': {
      loopwise: true,
      desc: '`gather(Array.from({ length: 100 }, () => (signal) => get(signal)))`; sequential: `await spawn((signal) => get(signal))`',
      custom: ({ quick }) =>
        client(async () => {
          const { gather } = await import('loopwise');
          await loopwiseSeq();
          return (get) => gather(Array.from({ length: B }, () => (signal: AbortSignal) => get(signal)));
        }, quick),
    },
    'loopwise-map': {
      loopwise: true,
      desc: '`map(ids, (id, i, signal) => get(signal))` (unbounded); sequential: `await spawn((signal) => get(signal))`',
      custom: ({ quick }) =>
        client(async () => {
          const { map } = await import('loopwise');
          await loopwiseSeq();
          const ids = Array.from({ length: B }, (_, i) => i);
          return (get) => map(ids, (_id, _i, signal) => get(signal));
        }, quick),
    },
  },
  tables: [
    {
      title: '100 concurrent GETs, warm (median of 7 batches per process)',
      unit: 'ms',
      rows: ['promise-all:warm', 'promise-all-signal:warm', 'promise-all-als:warm', 'loopwise-gather:warm', 'loopwise-map:warm'],
      baselines: ['promise-all:warm'],
    },
    {
      title: '100 concurrent GETs, cold (first batch: 100 new connections)',
      unit: 'ms',
      rows: ['promise-all:cold', 'promise-all-signal:cold', 'promise-all-als:cold', 'loopwise-gather:cold', 'loopwise-map:cold'],
      baselines: ['promise-all:cold'],
    },
    {
      title: '10 sequential GETs (each 100 ms at the server)',
      unit: 'ms',
      rows: ['promise-all:seq10', 'promise-all-signal:seq10', 'promise-all-als:seq10', 'loopwise-gather:seq10', 'loopwise-map:seq10'],
      baselines: ['promise-all:seq10'],
    },
  ],
});
