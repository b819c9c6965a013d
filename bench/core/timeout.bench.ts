/**
 * Scenario 4: deadlines and per-scope plumbing.
 * - `await timeout(1000, () => p)` 100 000 times in a task, vs the hand-made
 *   AbortSignal version: `AbortSignal.timeout(1000)` + `Promise.race` with the
 *   abort listener removed afterwards (and, for reference, the cheapest
 *   hand-made deadline: setTimeout/clearTimeout + race, no signal at all);
 * - `await scope(() => p)` created under a parent that already has 0,
 *   10 000 or 100 000 live children: the cost must not grow with siblings.
 */
import { runScenario, type OpFn } from './_harness.js';

const N = 100_000;
const p = Promise.resolve(1);
const body = (): Promise<number> => p;

async function inTask(f: OpFn): Promise<OpFn> {
  const { spawn } = await import('loopwise');
  return (n) => spawn(() => f(n) as Promise<unknown>);
}

function abortSignalRace(): OpFn {
  async function withTimeout<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const signal = AbortSignal.timeout(ms);
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([fn(signal), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
  return async (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += await withTimeout(1000, body);
    return s;
  };
}

function timerRace(): OpFn {
  async function withTimeout<T>(ms: number, fn: () => Promise<T>): Promise<T> {
    let timer!: NodeJS.Timeout;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), ms);
    });
    try {
      return await Promise.race([fn(), expired]);
    } finally {
      clearTimeout(timer);
    }
  }
  return async (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += await withTimeout(1000, body);
    return s;
  };
}

/**
 * Runs the timed function inside a group whose scope already has `k` live
 * children (tasks parked on a gate). The group body serves requests, so the
 * measured code runs in the group's context without timing the setup.
 */
async function underSiblings(k: number, elsewhere = false): Promise<OpFn> {
  const { group, scope } = await import('loopwise');
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  if (elsewhere) {
    // Control: the same k live tasks, but in another group (same heap, no siblings).
    let parked!: () => void;
    const isParked = new Promise<void>((r) => (parked = r));
    void group(async (g) => {
      for (let i = 0; i < k; i++) g.spawn(() => gate);
      parked();
    });
    await isParked;
    k = 0;
  }
  type Req = { n: number; done: () => void } | null;
  let deliver: ((r: Req) => void) | null = null;
  const queue: Req[] = [];
  const next = (): Promise<Req> => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise<Req>((r) => (deliver = r)));
  const send = (r: Req): void => {
    if (deliver !== null) {
      const d = deliver;
      deliver = null;
      d(r);
    } else queue.push(r);
  };
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  void group(async (g) => {
    for (let i = 0; i < k; i++) g.spawn(() => gate);
    ready();
    for (;;) {
      const req = await next();
      if (req === null) break;
      let s = 0;
      for (let i = 0; i < req.n; i++) s += (await scope(body))!;
      if (s !== req.n) throw new Error('wrong result');
      req.done();
    }
    release();
  });
  await isReady;
  return (n) => new Promise<void>((done) => send({ n, done }));
}

await runScenario({
  name: 'timeout',
  title: 'Scenario 4: timeout and per-scope plumbing',
  variants: {
    'abortsignal-race': { n: N, warmup: 1, setup: abortSignalRace, loopwise: false, desc: 'AbortSignal.timeout(1000) + Promise.race([body(signal), aborted]), listener removed in finally' },
    'settimeout-race': { n: N, setup: timerRace, loopwise: false, desc: 'setTimeout + Promise.race + clearTimeout (no signal): the cheapest hand-made deadline' },
    'loopwise-timeout': { n: N, setup: () => inTask(async (n) => {
      const { timeout } = await import('loopwise');
      let s = 0;
      for (let i = 0; i < n; i++) s += await timeout(1000, body);
      return s;
    }), loopwise: true, desc: '`await timeout(1000, () => p)` in a task' },
    'loopwise-timeout-signal': { n: N, setup: () => inTask(async (n) => {
      const { timeout } = await import('loopwise');
      let s = 0;
      for (let i = 0; i < n; i++) s += await timeout(1000, (signal) => (signal.aborted ? p : p));
      return s;
    }), loopwise: true, desc: '`await timeout(1000, (signal) => p)` in a task: the body asks for the signal' },
    'scope-siblings-0': { n: N, setup: () => underSiblings(0), loopwise: true, desc: '`await scope(() => p)` in a group with no other child' },
    'scope-siblings-10k': { n: N, setup: () => underSiblings(10_000), loopwise: true, desc: 'same, the group has 10 000 live children' },
    'scope-siblings-100k': { n: N, setup: () => underSiblings(100_000), loopwise: true, desc: 'same, the group has 100 000 live children' },
    'scope-siblings-0-heap100k': {
      n: N,
      setup: () => underSiblings(100_000, true),
      loopwise: true,
      desc: 'control: no sibling, but 100 000 live tasks parked in another group (the same heap to trace at each GC)',
    },
  },
  tables: [
    {
      title: 'timeout around a resolved body, 100 000 sequential per repetition',
      unit: 'ns/op',
      rows: ['abortsignal-race', 'settimeout-race', 'loopwise-timeout', 'loopwise-timeout-signal'],
      baselines: ['abortsignal-race', 'settimeout-race'],
    },
    {
      title: 'a scope created under a parent with k live children, 100 000 per repetition',
      unit: 'ns/op',
      rows: ['scope-siblings-0', 'scope-siblings-10k', 'scope-siblings-100k', 'scope-siblings-0-heap100k'],
      baselines: ['scope-siblings-0', 'scope-siblings-0-heap100k'],
      note: 'The 100 000-sibling row carries 100 000 live tasks in the heap; the control row has the same heap with no sibling, so the difference between those two is the sibling plumbing.',
    },
  ],
});
