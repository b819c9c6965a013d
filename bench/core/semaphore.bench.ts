/**
 * Scenario 5: Semaphore(4) and Lock under contention: 64 workers each
 * looping 1 000 times on acquire / `await p` / release (64 000 acquisitions
 * per repetition), loopwise vs async-mutex 0.5.0's Semaphore and Mutex.
 * loopwise runs its workers as tasks of a group (the normal use), and also as
 * plain async functions (to separate the primitive from the task cost).
 */
import { runScenario, type OpFn } from './_harness.js';

const W = 64;
const K = 1_000;
const p = Promise.resolve(1);

interface Prim {
  acquire(): Promise<unknown>;
  release(): void;
}

function workers(prim: Prim): (n: number) => Promise<unknown> {
  return (n) => {
    const per = n / W;
    const worker = async (): Promise<void> => {
      for (let i = 0; i < per; i++) {
        await prim.acquire();
        try {
          await p;
        } finally {
          prim.release();
        }
      }
    };
    return Promise.all(Array.from({ length: W }, worker));
  };
}

async function asAsyncMutex(kind: 'sem' | 'mutex'): Promise<Prim> {
  const am = await import('async-mutex');
  if (kind === 'mutex') {
    const m = new am.Mutex();
    return { acquire: () => m.acquire(), release: () => m.release() };
  }
  const s = new am.Semaphore(4);
  return { acquire: () => s.acquire(), release: () => s.release() };
}

async function asLoopwise(kind: 'sem' | 'lock'): Promise<Prim> {
  const lw = await import('loopwise');
  return kind === 'lock' ? new lw.Lock() : new lw.Semaphore(4);
}

async function inGroup(prim: Prim): Promise<OpFn> {
  const { group } = await import('loopwise');
  return (n) => {
    const per = n / W;
    return group((g) => {
      for (let w = 0; w < W; w++)
        g.spawn(async () => {
          for (let i = 0; i < per; i++) {
            await prim.acquire();
            try {
              await p;
            } finally {
              prim.release();
            }
          }
        });
    });
  };
}

const N = W * K;

await runScenario({
  name: 'semaphore',
  title: 'Scenario 5: Semaphore(4) and Lock, 64 contending workers x 1 000 acquire/release',
  variants: {
    'asyncmutex-semaphore': { n: N, setup: async () => workers(await asAsyncMutex('sem')), loopwise: false, desc: 'async-mutex Semaphore(4), 64 async workers, Promise.all' },
    'loopwise-semaphore-tasks': { n: N, setup: async () => inGroup(await asLoopwise('sem')), loopwise: true, desc: 'loopwise Semaphore(4), 64 tasks of a group' },
    'loopwise-semaphore-plain': { n: N, setup: async () => workers(await asLoopwise('sem')), loopwise: true, desc: 'loopwise Semaphore(4), 64 plain async workers (no tasks)' },
    'asyncmutex-semaphore-tasks': { n: N, setup: async () => inGroup(await asAsyncMutex('sem')), loopwise: true, desc: 'async-mutex Semaphore(4) used by 64 loopwise tasks' },
    'asyncmutex-mutex': { n: N, setup: async () => workers(await asAsyncMutex('mutex')), loopwise: false, desc: 'async-mutex Mutex, 64 async workers' },
    'loopwise-lock-tasks': { n: N, setup: async () => inGroup(await asLoopwise('lock')), loopwise: true, desc: 'loopwise Lock, 64 tasks of a group' },
    'loopwise-lock-plain': { n: N, setup: async () => workers(await asLoopwise('lock')), loopwise: true, desc: 'loopwise Lock, 64 plain async workers' },
    'asyncmutex-mutex-tasks': { n: N, setup: async () => inGroup(await asAsyncMutex('mutex')), loopwise: true, desc: 'async-mutex Mutex used by 64 loopwise tasks' },
  },
  tables: [
    {
      title: 'Semaphore(4), per acquire/release',
      unit: 'ns/op',
      rows: ['asyncmutex-semaphore', 'loopwise-semaphore-plain', 'asyncmutex-semaphore-tasks', 'loopwise-semaphore-tasks'],
      baselines: ['asyncmutex-semaphore', 'asyncmutex-semaphore-tasks'],
    },
    {
      title: 'Lock / Mutex, per acquire/release',
      unit: 'ns/op',
      rows: ['asyncmutex-mutex', 'loopwise-lock-plain', 'asyncmutex-mutex-tasks', 'loopwise-lock-tasks'],
      baselines: ['asyncmutex-mutex', 'asyncmutex-mutex-tasks'],
    },
  ],
});
