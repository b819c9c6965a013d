/**
 * Worker pools, cancelling a running CPU job: 1 thread; a 3 s CPU job is
 * started, and once it runs (it says so through shared memory) its signal is
 * aborted and an `add(1, 2)` is submitted in the same tick. Measured from
 * abort(): the time until the cancelled call rejects, and until the next job
 * has finished. loopwise runs it twice: a cooperative job (reads
 * `jobSignal().aborted` in its loop) and a non-cooperative one (never looks:
 * terminated after `cancelGraceMs`). Piscina and Tinypool terminate the
 * worker; workerpool cancels through `promise.cancel()`.
 */
import { runScenario, median, type Variant } from '../core/_harness.js';
import { open, type PoolOpts } from './_pools.js';

const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, ms?: number): { async: boolean; value: Promise<string> | string } }).waitAsync;

const GRACE = 100;

function variant(pool: string, coop: boolean, loopwise: boolean, desc: string, o: Partial<PoolOpts> = {}): Variant {
  return {
    loopwise,
    desc,
    custom: async ({ quick }) => {
      const p = await open(pool, { threads: 1, ...o });
      const rejects: number[] = [];
      const nexts: number[] = [];
      for (let k = 0; k < (quick ? 2 : 5); k++) {
        const mem = new Int32Array(new SharedArrayBuffer(8));
        const ac = new AbortController();
        const job = p.long(mem, 3000, ac.signal, coop);
        let tAbort = 0;
        let tReject = NaN;
        const settled = job.then(
          () => {
            throw new Error('the cancelled job finished');
          },
          () => {
            tReject = performance.now();
          },
        );
        while (Atomics.load(mem, 1) === 0) {
          const r = waitAsync(mem, 1, 0, 1000);
          if (r.async) await r.value;
        }
        tAbort = performance.now();
        ac.abort();
        const next = p.add().then(() => performance.now());
        const [, tNext] = await Promise.all([settled, next]);
        rejects.push(tReject - tAbort);
        nexts.push(tNext - tAbort);
      }
      await p.close();
      return { rejectMs: median(rejects), nextMs: median(nexts) };
    },
  };
}

await runScenario({
  name: 'pool-cancel',
  title: 'Worker pools: cancel a running 3 s CPU job, then run the next one (1 thread)',
  variants: {
    'loopwise-coop': variant('loopwise', true, true, 'loopwise, the job reads `jobSignal().aborted` in its loop and throws; the worker stays'),
    'loopwise-noncoop': variant('loopwise', false, true, `loopwise, the job never looks at its signal: terminated after \`cancelGraceMs: ${GRACE}\`, rejected once the thread has exited, a replacement serves the next job`, { cancelGraceMs: GRACE }),
    piscina: variant('piscina', false, false, 'Piscina 5.3.2, `run(args, { name, signal })`: terminates the worker (rejects at once), respawns'),
    tinypool: variant('tinypool', false, false, 'Tinypool 2.2.0, `run(args, { name, signal })`: terminates the worker, respawns'),
    workerpool: variant('workerpool', false, false, 'workerpool 10.0.3, `promise.cancel()` on abort: rejects at once; the worker is killed after its cleanup timeouts'),
  },
  tables: [
    {
      title: 'abort() → the cancelled call rejects, ms (median of 5 cancels per process)',
      unit: 'ms',
      rows: ['loopwise-coop:rejectMs', 'loopwise-noncoop:rejectMs', 'piscina:rejectMs', 'tinypool:rejectMs', 'workerpool:rejectMs'],
      baselines: ['piscina:rejectMs'],
    },
    {
      title: 'abort() → the next job (`add`, submitted right after abort()) has finished, ms',
      unit: 'ms',
      rows: ['loopwise-coop:nextMs', 'loopwise-noncoop:nextMs', 'piscina:nextMs', 'tinypool:nextMs', 'workerpool:nextMs'],
      baselines: ['piscina:nextMs'],
      note: `loopwise rejects a cancelled call only once the job has really stopped; the non-cooperative row is bounded by \`cancelGraceMs\` (${GRACE} ms here, 1 000 by default) + terminate + a new worker.`,
    },
  ],
});
