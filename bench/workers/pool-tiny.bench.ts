/**
 * Worker pools, tiny jobs: `add(1, 2)` on 2 threads from 64 concurrent
 * callers, calls per second. The round trip is all there is, so this
 * measures each pool's own overhead per job. Baselines: a hand-written
 * one-Worker-per-core postMessage pool (the ideal without pipelining) and
 * Piscina.
 */
import { runScenario, median, type Variant } from '../core/_harness.js';
import { POOLS, open, lanes } from './_pools.js';

const THREADS = 2;
const CALLERS = 64;

function variant(name: string): Variant {
  const p = POOLS[name]!;
  return {
    loopwise: p.loopwise,
    desc: p.desc,
    custom: async ({ quick }) => {
      const pool = await open(name, { threads: THREADS });
      const n = quick ? 3000 : 10_000;
      for (let i = 0; i < (quick ? 1 : 2); i++) await lanes(n, CALLERS, pool.add);
      const reps: number[] = [];
      for (let i = 0; i < (quick ? 3 : 7); i++) reps.push(await lanes(n, CALLERS, pool.add));
      await pool.close();
      return { value: median(reps) };
    },
  };
}

const names = ['raw', 'raw-x16', 'loopwise', 'loopwise-x16', 'piscina', 'piscina-c16', 'tinypool', 'tinypool-c16', 'workerpool'];

await runScenario({
  name: 'pool-tiny',
  title: 'Worker pools: tiny jobs (`add(1, 2)`), 2 threads, 64 concurrent callers',
  variants: Object.fromEntries(names.map((n) => [n, variant(n)])),
  tables: [
    {
      title: 'tiny-job throughput, calls/s (median of 7 repetitions of 10 000 calls per process)',
      unit: 'calls/s',
      rows: names,
      baselines: ['raw', 'piscina'],
      note: '`-x16` / `-c16` rows keep 16 jobs in flight per worker (`concurrentTasksPerWorker: 16`); the others one.',
    },
  ],
});
