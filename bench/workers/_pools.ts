/**
 * The pools the bench/workers scenarios compare, behind one small face, each
 * loaded lazily so a process only loads the library it measures (a baseline
 * never loads loopwise). All run the same functions of
 * bench/workers/fixtures/work.mjs, found from build/bench/workers/ back in
 * the sources (tsc does not copy .mjs files).
 */
import { fileURLToPath } from 'node:url';

export const fixture = (name: string): URL => new URL(`../../../bench/workers/fixtures/${name}`, import.meta.url);

export interface BenchPool {
  /** `add(1, 2)` on a worker. */
  add(): Promise<unknown>;
  /** ~`ms` of CPU on a worker. */
  spin(ms: number): Promise<unknown>;
  /**
   * A long CPU job that writes mem[1] = 1 once it runs; cancelled through
   * `signal` (or the library's own cancel). `coop`: the job checks the
   * library's cancel flag (loopwise only; the others cannot tell it).
   */
  long(mem: Int32Array, ms: number, signal: AbortSignal, coop: boolean): Promise<unknown>;
  close(): Promise<void>;
}

export interface PoolOpts {
  threads: number;
  /** Jobs in flight per worker (pipelining); 1 = off. */
  depth?: number;
  cancelGraceMs?: number;
}

type Any = any; // the competitors' types are not what is measured here

async function raw(o: PoolOpts): Promise<BenchPool> {
  const { RawPool } = (await import(fixture('raw-pool.mjs').href)) as Any;
  const p = new RawPool(o.threads, o.depth ?? 1);
  await p.started();
  const ARGS = [1, 2];
  return {
    add: () => p.run('add', ARGS),
    spin: (ms) => p.run('spin', [ms]),
    long: () => Promise.reject(new Error('the raw pool cannot cancel')),
    close: () => p.close(),
  };
}

async function loopwise(o: PoolOpts): Promise<BenchPool> {
  const { WorkerPool } = await import('loopwise/workers');
  const p = new WorkerPool(fixture('work-lw.mjs'), {
    threads: o.threads,
    concurrentTasksPerWorker: o.depth ?? 1,
    cancelGraceMs: o.cancelGraceMs ?? 1000,
  });
  const ARGS = [1, 2];
  return {
    add: () => p.run('add', ARGS),
    spin: (ms) => p.run('spin', [ms]),
    long: (mem, ms, signal, coop) => p.run(coop ? 'longCoop' : 'long', [mem, ms], { signal }),
    close: () => p.close({ force: true }),
  };
}

async function piscina(o: PoolOpts): Promise<BenchPool> {
  const { Piscina } = (await import('piscina')) as Any;
  const p = new Piscina({
    filename: fixture('work-task.mjs').href,
    minThreads: o.threads,
    maxThreads: o.threads,
    concurrentTasksPerWorker: o.depth ?? 1,
  });
  const ADD = { name: 'add' };
  const SPIN = { name: 'spin' };
  const ARGS = [1, 2];
  return {
    add: () => p.run(ARGS, ADD),
    spin: (ms) => p.run([ms], SPIN),
    long: (mem, ms, signal) => p.run([mem, ms], { name: 'long', signal }),
    close: () => p.destroy(),
  };
}

async function tinypool(o: PoolOpts): Promise<BenchPool> {
  const { default: Tinypool } = (await import('tinypool')) as Any;
  const p = new Tinypool({
    filename: fixture('work-task.mjs').href,
    minThreads: o.threads,
    maxThreads: o.threads,
    concurrentTasksPerWorker: o.depth ?? 1,
  });
  const ADD = { name: 'add' };
  const SPIN = { name: 'spin' };
  const ARGS = [1, 2];
  return {
    add: () => p.run(ARGS, ADD),
    spin: (ms) => p.run([ms], SPIN),
    long: (mem, ms, signal) => p.run([mem, ms], { name: 'long', signal }),
    close: () => p.destroy(),
  };
}

async function workerpool(o: PoolOpts): Promise<BenchPool> {
  const { default: wp } = (await import('workerpool')) as Any;
  const p = wp.pool(fileURLToPath(fixture('work-wp.mjs')), { minWorkers: o.threads, maxWorkers: o.threads, workerType: 'thread' });
  const ARGS = [1, 2];
  return {
    add: () => p.exec('add', ARGS),
    spin: (ms) => p.exec('spin', [ms]),
    long: (mem, ms, signal) => {
      const r = p.exec('long', [mem, ms]);
      const out = new Promise((resolve, reject) => r.then(resolve, reject));
      signal.addEventListener(
        'abort',
        () => {
          try {
            r.cancel();
          } catch (e) {
            // workerpool's promise runs its handlers synchronously inside
            // cancel(); one of its internal chains rethrows the CancellationError.
            if ((e as Error)?.name !== 'CancellationError' && (e as Error)?.message !== 'promise cancelled') throw e;
          }
        },
        { once: true },
      );
      return out;
    },
    close: () => p.terminate(true),
  };
}

export const POOLS: Record<string, { make: (o: PoolOpts) => Promise<BenchPool>; loopwise: boolean; desc: string; depth?: number }> = {
  raw: { make: raw, loopwise: false, desc: 'hand-written pool (bench/workers/fixtures/raw-pool.mjs): one Worker per core, one postMessage per job and per reply, one job in flight per worker' },
  'raw-x16': { make: (o) => raw({ ...o, depth: 16 }), loopwise: false, depth: 16, desc: 'the same hand-written pool with 16 jobs in flight per worker' },
  'raw-x2': { make: (o) => raw({ ...o, depth: 2 }), loopwise: false, depth: 2, desc: 'the same hand-written pool with 2 jobs in flight per worker' },
  loopwise: { make: loopwise, loopwise: true, desc: '`new WorkerPool(url, { threads })`, `pool.run(fn, args)`' },
  'loopwise-x16': { make: (o) => loopwise({ ...o, depth: 16 }), loopwise: true, depth: 16, desc: 'loopwise with `concurrentTasksPerWorker: 16` (pipelining)' },
  'loopwise-x2': { make: (o) => loopwise({ ...o, depth: 2 }), loopwise: true, depth: 2, desc: 'loopwise with `concurrentTasksPerWorker: 2`' },
  piscina: { make: piscina, loopwise: false, desc: 'Piscina 5.3.2, `minThreads = maxThreads`, defaults (atomics on), `run(args, { name })`' },
  'piscina-c16': { make: (o) => piscina({ ...o, depth: 16 }), loopwise: false, depth: 16, desc: 'Piscina 5.3.2 with `concurrentTasksPerWorker: 16`' },
  'piscina-c2': { make: (o) => piscina({ ...o, depth: 2 }), loopwise: false, depth: 2, desc: 'Piscina 5.3.2 with `concurrentTasksPerWorker: 2`' },
  tinypool: { make: tinypool, loopwise: false, desc: 'Tinypool 2.2.0, `minThreads = maxThreads`, `run(args, { name })`' },
  'tinypool-c16': { make: (o) => tinypool({ ...o, depth: 16 }), loopwise: false, depth: 16, desc: 'Tinypool 2.2.0 with `concurrentTasksPerWorker: 16`' },
  workerpool: { make: workerpool, loopwise: false, desc: 'workerpool 10.0.3, `workerType: "thread"`, `exec(fn, args)`' },
};

/** Opens a pool and waits until every thread has served (the cold start is not measured). */
export async function open(name: string, o: PoolOpts): Promise<BenchPool> {
  const p = await POOLS[name]!.make(o);
  await Promise.all(Array.from({ length: o.threads * 4 }, () => p.add()));
  return p;
}

/** `n` calls of `call` by `callers` concurrent loops; returns calls per second. */
export async function lanes(n: number, callers: number, call: () => Promise<unknown>): Promise<number> {
  let i = 0;
  const loop = async (): Promise<void> => {
    while (i++ < n) await call();
  };
  const t0 = performance.now();
  const ls: Promise<void>[] = [];
  for (let k = 0; k < callers; k++) ls.push(loop());
  await Promise.all(ls);
  return n / ((performance.now() - t0) / 1000);
}

export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}
