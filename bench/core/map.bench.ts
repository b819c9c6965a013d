/**
 * Scenario 3: bounded map. 100 000 items, concurrency 16,
 * `async x => { await p; return 2 * x }`: loopwise `map` vs a hand-written
 * pull loop of 16 workers, p-limit 7 and Effect 4 `forEach`.
 */
import { runScenario, type OpFn } from './_harness.js';

const C = 16;
const N = 100_000;
const p = Promise.resolve(1);
const fn = async (x: number): Promise<number> => {
  await p;
  return 2 * x;
};
const items = Array.from({ length: N }, (_, i) => i);
function check(out: number[]): void {
  if (out.length !== N || out[N - 1] !== 2 * (N - 1) || out[7] !== 14) throw new Error('wrong result');
}

function pool(): OpFn {
  return async (n) => {
    const out = new Array<number>(n);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < n) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    };
    await Promise.all(Array.from({ length: C }, worker));
    check(out);
  };
}

await runScenario({
  name: 'map',
  title: 'Scenario 3: map of 100 000 items, concurrency 16',
  variants: {
    'pull-loop': { n: N, setup: pool, loopwise: false, desc: 'hand-written: 16 async workers pulling the next index, Promise.all' },
    'loopwise-map': {
      n: N,
      loopwise: true,
      desc: '`map(items, fn, { concurrency: 16 })`',
      setup: async () => {
        const { map } = await import('loopwise');
        return async () => check(await map(items, fn, { concurrency: C }));
      },
    },
    'pull-loop-in-task': {
      n: N,
      loopwise: true,
      desc: 'the hand-written pull loop inside a loopwise task (pays the ALS floor, not loopwise)',
      setup: async () => {
        const { spawn } = await import('loopwise');
        const f = pool();
        return (n) => spawn(() => f(n));
      },
    },
    'p-limit': {
      n: N,
      loopwise: false,
      desc: 'p-limit 7.3.3: `Promise.all(items.map(x => limit(() => fn(x))))`',
      setup: async () => {
        const { default: pLimit } = await import('p-limit');
        const limit = pLimit(C);
        return async () => check(await Promise.all(items.map((x) => limit(() => fn(x)))));
      },
    },
    'effect-forEach': {
      n: N,
      loopwise: false,
      desc: 'Effect 4.1.0: `Effect.forEach(items, x => Effect.promise(() => fn(x)), { concurrency: 16 })`',
      setup: async () => {
        const { Effect } = (await import('effect')) as any;
        return async () => check(await Effect.runPromise(Effect.forEach(items, (x: number) => Effect.promise(() => fn(x)), { concurrency: C })));
      },
    },
  },
  tables: [
    {
      title: 'map, 100 000 items, concurrency 16, per item',
      unit: 'ns/op',
      rows: ['pull-loop', 'pull-loop-in-task', 'loopwise-map', 'effect-forEach', 'p-limit'],
      baselines: ['pull-loop', 'p-limit'],
    },
  ],
});
