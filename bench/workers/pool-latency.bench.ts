/**
 * Worker pools, idle round trip: one caller, `await add(1, 2)` in sequence
 * on an otherwise idle 2-thread pool; p50 and p99 of the call's duration in
 * microseconds.
 */
import { runScenario, median, type Variant } from '../core/_harness.js';
import { POOLS, open, quantile } from './_pools.js';

function variant(name: string): Variant {
  const p = POOLS[name]!;
  return {
    loopwise: p.loopwise,
    desc: p.desc,
    custom: async ({ quick }) => {
      const pool = await open(name, { threads: 2 });
      const n = quick ? 300 : 1000;
      const round = async (): Promise<{ p50: number; p99: number }> => {
        const lat = new Array<number>(n);
        for (let i = 0; i < n; i++) {
          const t = performance.now();
          await pool.add();
          lat[i] = (performance.now() - t) * 1000;
        }
        return { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99) };
      };
      await round();
      const rs: { p50: number; p99: number }[] = [];
      for (let i = 0; i < (quick ? 3 : 5); i++) rs.push(await round());
      await pool.close();
      return { p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)) };
    },
  };
}

const names = ['raw', 'loopwise', 'piscina', 'tinypool', 'workerpool'];

await runScenario({
  name: 'pool-latency',
  title: 'Worker pools: idle round-trip latency of `add(1, 2)`, one caller, 2 threads',
  variants: Object.fromEntries(names.map((n) => [n, variant(n)])),
  tables: [
    {
      title: 'idle round trip p50, µs (median over 5 rounds of 1 000 sequential calls per process)',
      unit: 'µs',
      rows: names.map((n) => `${n}:p50`),
      baselines: ['raw:p50', 'piscina:p50'],
    },
    {
      title: 'idle round trip p99, µs',
      unit: 'µs',
      rows: names.map((n) => `${n}:p99`),
      baselines: ['raw:p99', 'piscina:p99'],
    },
  ],
});
