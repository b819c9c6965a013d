/**
 * Scenario 2: what loopwise costs every `await`, and its checkpoints.
 * - 1 000 000 `await p` (p resolved) in a process that never loaded
 *   loopwise, vs the same loop in a loopwise task (and, for reference, inside
 *   a foreign AsyncLocalStorage run: the PromiseHook floor of Node 20/22);
 * - 1 000 000 checkpointing awaits (`await cancellable(p)` in a task) vs
 *   plain awaits;
 * - 20 000 `await checkpoint()` (one setImmediate turn each) vs
 *   `await scheduler.yield()` (node:timers/promises) and a setImmediate promise.
 */
import { runScenario, type OpFn } from './_harness.js';

const p = Promise.resolve(1);
async function loop(n: number): Promise<number> {
  let s = 0;
  for (let i = 0; i < n; i++) s += await p;
  return s;
}

async function inTask(body: (n: number) => Promise<unknown>): Promise<OpFn> {
  const { spawn } = await import('loopwise');
  return (n) => spawn(() => body(n));
}

const AWAITS = 1_000_000;
const YIELDS = 20_000;

await runScenario({
  name: 'awaits',
  title: 'Scenario 2: awaits, checkpoints and yields',
  variants: {
    'raw-await': { n: AWAITS, setup: () => loop, loopwise: false, desc: '`s += await p` in a process that never loaded loopwise' },
    'als-await': {
      n: AWAITS,
      loopwise: false,
      desc: 'same loop inside a foreign `new AsyncLocalStorage().run(...)` (no loopwise): the PromiseHook floor',
      setup: async () => {
        const { AsyncLocalStorage } = await import('node:async_hooks');
        const als = new AsyncLocalStorage<object>();
        return (n) => als.run({}, () => loop(n));
      },
    },
    'task-await': { n: AWAITS, setup: () => inTask(loop), loopwise: true, desc: 'same loop inside a loopwise task: `spawn(() => loop(n))`' },
    'task-cancellable': {
      n: AWAITS,
      loopwise: true,
      desc: '`s += await cancellable(p)` inside a loopwise task (a checkpoint per await)',
      setup: async () => {
        const { cancellable } = await import('loopwise');
        return inTask(async (n) => {
          let s = 0;
          for (let i = 0; i < n; i++) s += await cancellable(p);
          return s;
        });
      },
    },
    'scheduler-yield': {
      n: YIELDS,
      loopwise: false,
      desc: '`await scheduler.yield()` (node:timers/promises), no loopwise',
      setup: async () => {
        const { scheduler } = (await import('node:timers/promises')) as any;
        if (typeof scheduler?.yield !== 'function') throw new Error('no scheduler.yield on ' + process.version);
        return async (n) => {
          for (let i = 0; i < n; i++) await scheduler.yield();
        };
      },
    },
    'setimmediate-yield': {
      n: YIELDS,
      loopwise: false,
      desc: '`await new Promise(r => setImmediate(r))`, no loopwise',
      setup: () => async (n) => {
        for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
      },
    },
    'task-scheduler-yield': {
      n: YIELDS,
      loopwise: true,
      desc: '`await scheduler.yield()` inside a loopwise task',
      setup: async () => {
        const { scheduler } = (await import('node:timers/promises')) as any;
        return inTask(async (n) => {
          for (let i = 0; i < n; i++) await scheduler.yield();
        });
      },
    },
    'task-checkpoint': {
      n: YIELDS,
      loopwise: true,
      desc: '`await checkpoint()` inside a loopwise task',
      setup: async () => {
        const { checkpoint } = await import('loopwise');
        return inTask(async (n) => {
          for (let i = 0; i < n; i++) await checkpoint();
        });
      },
    },
  },
  tables: [
    {
      title: 'plain `await p`, 1 000 000 per repetition',
      unit: 'ns/op',
      rows: ['raw-await', 'als-await', 'task-await'],
      baselines: ['raw-await'],
      note: 'raw-await and als-await never load loopwise; each row is its own process.',
    },
    {
      title: 'checkpointing awaits: `await cancellable(p)` in a task, 1 000 000 per repetition',
      unit: 'ns/op',
      rows: ['raw-await', 'task-await', 'task-cancellable'],
      baselines: ['raw-await', 'task-await'],
    },
    {
      title: 'the same, process CPU time per await (user + system, all threads; steadier than wall time on a loaded machine)',
      unit: 'CPU ns/op',
      rows: ['raw-await:cpu', 'task-await:cpu', 'task-cancellable:cpu'],
      baselines: ['raw-await:cpu', 'task-await:cpu'],
    },
    {
      title: 'yield one event-loop turn, 20 000 per repetition',
      unit: 'ns/op',
      rows: ['scheduler-yield', 'setimmediate-yield', 'task-scheduler-yield', 'task-checkpoint'],
      baselines: ['scheduler-yield', 'task-scheduler-yield'],
    },
  ],
});
