/**
 * Heap soak: 1 000 000 scopes under one long-lived parent (a task), in
 * batches of 1 000 concurrent ones, each around a resolved body. heapUsed is
 * read after gc() (and a few event-loop turns) before the first scope, after
 * 500 000 and after 1 000 000: it must stay flat. Also reports the time per
 * scope of the whole run.
 */
import { runScenario, settle } from './_harness.js';

const TOTAL = 1_000_000;
const BATCH = 1_000;
const p = Promise.resolve(1);
const body = (): Promise<number> => p;
const mb = (): number => process.memoryUsage().heapUsed / 2 ** 20;

async function soak(make: (lw: typeof import('loopwise')) => () => Promise<unknown>, quick: boolean): Promise<Record<string, number>> {
  const lw = await import('loopwise');
  const one = make(lw);
  const total = quick ? TOTAL / 4 : TOTAL;
  return lw.spawn(async () => {
    const batch = (): Promise<unknown[]> => {
      const ps = new Array<Promise<unknown>>(BATCH);
      for (let i = 0; i < BATCH; i++) ps[i] = one();
      return Promise.all(ps);
    };
    for (let i = 0; i < 20; i++) await batch(); // warm-up: JIT, pools
    await settle();
    const before = mb();
    let mid = 0;
    const t0 = process.hrtime.bigint();
    for (let done = 0; done < total; done += BATCH) {
      await batch();
      if (done + BATCH === total / 2) {
        await settle();
        mid = mb();
      }
    }
    const t1 = process.hrtime.bigint();
    await settle();
    const after = mb();
    return { before, mid, after, delta: after - before, nsPerScope: Number(t1 - t0) / total };
  });
}

await runScenario({
  name: 'heap',
  title: 'Heap after 1 000 000 scopes under one parent (batches of 1 000)',
  variants: {
    timeout: { loopwise: true, desc: '`timeout(1000, () => p)`', custom: async ({ quick }) => (await soak((lw) => () => lw.timeout(1000, body), quick)) },
    scope: { loopwise: true, desc: '`scope(() => p)`', custom: async ({ quick }) => (await soak((lw) => () => lw.scope(body), quick)) },
    spawn: { loopwise: true, desc: '`spawn(() => p)` (detached tasks, awaited by the batch)', custom: async ({ quick }) => (await soak((lw) => () => lw.spawn(body), quick)) },
    'timeout-signal': {
      loopwise: true,
      desc: '`timeout(1000, (signal) => p)`: each scope makes its AbortController',
      custom: async ({ quick }) => (await soak((lw) => () => lw.timeout(1000, (signal) => (signal.aborted ? p : p)), quick)),
    },
  },
  tables: [
    {
      title: 'heapUsed after gc(), MB: before the first scope, after 500 000, after 1 000 000',
      unit: 'MB',
      rows: ['timeout:before', 'timeout:mid', 'timeout:after', 'timeout:delta', 'scope:delta', 'spawn:delta', 'timeout-signal:delta'],
      baselines: [],
      note: 'delta = after - before. `--quick` runs 250 000 scopes instead.',
    },
    {
      title: 'time per scope over the soak (batches of 1 000 concurrent; includes the one gc() half-way)',
      unit: 'ns/op',
      rows: ['timeout:nsPerScope', 'scope:nsPerScope', 'spawn:nsPerScope', 'timeout-signal:nsPerScope'],
      baselines: ['scope:nsPerScope'],
    },
  ],
});
