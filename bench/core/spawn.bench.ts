/**
 * Scenario 1: spawn + join of tiny tasks. 100 000 live at once (GC-bound),
 * and 5 000 warm (after warm-up repetitions). loopwise: a group spawning
 * every task (the group is the join); vs raw Promise.all, Effect 4
 * (forkChild + Fiber.join) and Effection 4 (spawn in a scope, 5 000 only:
 * at 100 000 it takes tens of seconds per repetition).
 */
import { runScenario, type OpFn } from './_harness.js';

const tiny = async (): Promise<number> => 1;

const raw = (): OpFn => (n) => {
  const ps = new Array<Promise<number>>(n);
  for (let i = 0; i < n; i++) ps[i] = tiny();
  return Promise.all(ps);
};

async function lwGroup(): Promise<OpFn> {
  const { group } = await import('loopwise');
  return (n) =>
    group((g) => {
      for (let i = 0; i < n; i++) g.spawn(tiny);
    });
}

async function lwGroupAwait(): Promise<OpFn> {
  const { group } = await import('loopwise');
  return (n) =>
    group(async (g) => {
      const ts = new Array(n);
      for (let i = 0; i < n; i++) ts[i] = g.spawn(tiny);
      let s = 0;
      for (let i = 0; i < n; i++) s += await ts[i];
      return s;
    });
}

async function effect(): Promise<OpFn> {
  const { Effect, Fiber } = (await import('effect')) as any;
  return (n) =>
    Effect.runPromise(
      Effect.gen(function* () {
        const fs = new Array(n);
        for (let i = 0; i < n; i++) fs[i] = yield* Effect.forkChild(Effect.promise(tiny));
        let s = 0;
        for (let i = 0; i < n; i++) s += yield* Fiber.join(fs[i]);
        return s;
      }),
    );
}

async function effection(): Promise<OpFn> {
  const { run, spawn } = await import('effection');
  return (n) =>
    run(function* () {
      const ts = new Array(n);
      for (let i = 0; i < n; i++)
        ts[i] = yield* spawn(function* () {
          return 1;
        });
      let s = 0;
      for (let i = 0; i < n; i++) s += yield* ts[i];
      return s;
    });
}

const BIG = 100_000;
const WARM = 5_000;

await runScenario({
  name: 'spawn',
  title: 'Scenario 1: spawn + join of tiny tasks (`async () => 1`)',
  variants: {
    'raw-100k': { n: BIG, warmup: 2, reps: 5, setup: raw, loopwise: false, desc: 'Promise.all(Array.from({length: n}, tiny))' },
    'loopwise-group-100k': { n: BIG, warmup: 2, reps: 5, setup: lwGroup, loopwise: true, desc: 'group(g => { for (...) g.spawn(tiny) })' },
    'loopwise-group-await-100k': { n: BIG, warmup: 2, reps: 5, setup: lwGroupAwait, loopwise: true, desc: 'same, and the body awaits every task' },
    'effect-100k': { n: BIG, warmup: 2, reps: 5, setup: effect, loopwise: false, desc: 'Effect 4: forkChild(Effect.promise(tiny)) n times, then Fiber.join each' },
    'raw-5k': { n: WARM, warmup: 20, reps: 15, setup: raw, loopwise: false, desc: 'Promise.all, 5 000, after 20 warm-ups' },
    'loopwise-group-5k': { n: WARM, warmup: 20, reps: 15, setup: lwGroup, loopwise: true, desc: 'group + g.spawn, 5 000 warm' },
    'loopwise-group-await-5k': { n: WARM, warmup: 20, reps: 15, setup: lwGroupAwait, loopwise: true, desc: 'group + g.spawn + await each, 5 000 warm' },
    'effect-5k': { n: WARM, warmup: 20, reps: 15, setup: effect, loopwise: false, desc: 'Effect 4 forkChild + Fiber.join, 5 000 warm' },
    'effection-5k': { n: WARM, warmup: 4, reps: 5, setup: effection, loopwise: false, desc: 'Effection 4: run(function* () { spawn(function* () { return 1 }) x n; yield* each })' },
  },
  tables: [
    {
      title: 'spawn + join, 100 000 live tasks per repetition',
      unit: 'ns/op',
      rows: ['raw-100k', 'loopwise-group-100k', 'loopwise-group-await-100k', 'effect-100k'],
      baselines: ['raw-100k', 'effect-100k'],
      note: 'Effection 4 is not run at 100 000 (see the 5 000 table: ~100 µs per task, tens of seconds per repetition).',
    },
    {
      title: 'spawn + join, 5 000 tasks, warm (20 warm-up repetitions, 15 timed; Effection 4: 4 and 5)',
      unit: 'ns/op',
      rows: ['raw-5k', 'loopwise-group-5k', 'loopwise-group-await-5k', 'effect-5k', 'effection-5k'],
      baselines: ['raw-5k', 'effect-5k', 'effection-5k'],
    },
    {
      title: '100 000 live tasks, process CPU time per task (user + system, all threads: the GC helpers too; steadier than wall time on a loaded machine)',
      unit: 'CPU ns/op',
      rows: ['raw-100k:cpu', 'loopwise-group-100k:cpu', 'loopwise-group-await-100k:cpu', 'effect-100k:cpu'],
      baselines: ['raw-100k:cpu', 'effect-100k:cpu'],
    },
    {
      title: '5 000 tasks warm, process CPU time per task',
      unit: 'CPU ns/op',
      rows: ['raw-5k:cpu', 'loopwise-group-5k:cpu', 'loopwise-group-await-5k:cpu', 'effect-5k:cpu', 'effection-5k:cpu'],
      baselines: ['raw-5k:cpu', 'effect-5k:cpu', 'effection-5k:cpu'],
    },
  ],
});
