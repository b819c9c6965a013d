/**
 * Worker pools, ~1 ms CPU jobs: `spin(1)` (busy for 1 ms of wall-clock time
 * in the worker) on 2 threads from 64 concurrent callers, jobs per second.
 * The ideal is exactly 2 threads x 1000 jobs/s (the `ideal` row, computed,
 * not measured); what a pool loses is its dispatch gap between two jobs.
 */
import { runScenario, median, type Variant } from '../core/_harness.js';
import { POOLS, open, lanes } from './_pools.js';

const THREADS = 2;
const MS = 1;

function variant(name: string): Variant {
  const p = POOLS[name]!;
  return {
    loopwise: p.loopwise,
    desc: p.desc,
    custom: async ({ quick }) => {
      const pool = await open(name, { threads: THREADS });
      const n = quick ? 200 : 1000;
      const call = (): Promise<unknown> => pool.spin(MS);
      await lanes(n, 64, call);
      const reps: number[] = [];
      for (let i = 0; i < (quick ? 3 : 5); i++) reps.push(await lanes(n, 64, call));
      await pool.close();
      return { value: median(reps) };
    },
  };
}

const names = ['raw', 'raw-x2', 'loopwise', 'loopwise-x2', 'piscina', 'piscina-c2', 'tinypool', 'workerpool'];

await runScenario({
  name: 'pool-cpu',
  title: 'Worker pools: ~1 ms CPU jobs (`spin(1)`), 2 threads, 64 concurrent callers',
  variants: {
    ideal: {
      loopwise: false,
      desc: `computed, not measured: ${THREADS} threads x ${1000 / MS} jobs/s`,
      custom: async () => ({ value: (THREADS * 1000) / MS }),
    },
    ...Object.fromEntries(names.map((n) => [n, variant(n)])),
  },
  tables: [
    {
      title: '1 ms jobs per second (median of 5 repetitions of 1 000 jobs per process)',
      unit: 'jobs/s',
      rows: ['ideal', ...names],
      baselines: ['ideal', 'raw'],
      note: '`-x2` / `-c2` rows keep 2 jobs in flight per worker (`concurrentTasksPerWorker: 2`): the next job already waits in the worker when one ends.',
    },
  ],
});
