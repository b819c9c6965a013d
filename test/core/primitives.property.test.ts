/**
 * Property-based tests of Lock, Semaphore and Queue: random interleavings of
 * acquire / cancel a waiter / release (put / get / try* / cancel / close for
 * the Queue) across many tasks, checked after every step against a small
 * reference model of the FIFO-fair, cancel-safe primitive:
 *
 * - a cancelled waiter never holds a permit, the lock or an item;
 * - permits are conserved (available + held == N), never more than N holders;
 * - grants follow FIFO order among the waiters that were not cancelled;
 * - every item put is got exactly once or still in the queue; none is lost,
 *   duplicated, or comes from a cancelled or rejected putter;
 * - nothing is left waiting at the end.
 *
 * Steps are driven deterministically: after each one the test awaits one
 * event-loop turn (setImmediate), which is enough for every woken task to run
 * to its next wait. The fast-check seed is fixed (override with FC_SEED).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { allTasks, Lock, Queue, scope, Semaphore, spawn, type Task } from 'loopwise';
import { assertNoTasks } from '../helpers/leaks.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 20240611;
const RUNS = 150;

function codeOf(e: unknown): string {
  return (e as { code?: string })?.code ?? `unexpected:${String(e)}`;
}

/** Picks the k-th element (mod length) of a list, or undefined if empty. */
function pick<T>(list: readonly T[], k: number): T | undefined {
  return list.length === 0 ? undefined : list[k % list.length];
}

// ====================================================================== Lock and Semaphore

type PermitCmd =
  | { op: 'acquire'; via: 'task' | 'scope' }
  | { op: 'cancel'; k: number }
  | { op: 'release'; k: number; twice: boolean }
  | { op: 'releaseAndCancel'; k: number };

const permitCmd: fc.Arbitrary<PermitCmd> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('acquire' as const), via: fc.constantFrom('task' as const, 'scope' as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('cancel' as const), k: fc.nat(7) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('release' as const), k: fc.nat(7), twice: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('releaseAndCancel' as const), k: fc.nat(7) }) },
);

interface PermitAttempt {
  readonly id: number;
  status: 'waiting' | 'holding' | 'released' | 'cancelled';
  permit: Disposable | null;
  error: string | null;
  cancel: () => void;
  task: Task<unknown> | null;
}

/** The reference: a counter and a FIFO line; release hands the permit to the head of the line. */
class PermitModel {
  available: number;
  readonly line: number[] = [];
  readonly holders = new Set<number>();
  readonly cancelled = new Set<number>();
  readonly grants: number[] = [];
  constructor(readonly n: number) {
    this.available = n;
  }
  acquire(id: number): void {
    if (this.available > 0 && this.line.length === 0) {
      this.available--;
      this.holders.add(id);
      this.grants.push(id);
    } else {
      this.line.push(id);
    }
  }
  cancel(id: number): void {
    const i = this.line.indexOf(id);
    if (i === -1) return; // already granted: the grant stands
    this.line.splice(i, 1);
    this.cancelled.add(id);
  }
  release(id: number): void {
    assert.ok(this.holders.delete(id), 'model: release by a holder');
    const next = this.line.shift();
    if (next === undefined) {
      this.available++;
    } else {
      this.holders.add(next);
      this.grants.push(next);
    }
  }
}

interface PermitPrimitive {
  acquire(): Promise<Disposable>;
  readonly waiting: number;
  /** Free permits as the primitive reports them. */
  free(): number;
}

async function runPermitScenario(n: number, make: () => PermitPrimitive, cmds: PermitCmd[]): Promise<void> {
  const prim = make();
  const model = new PermitModel(n);
  const attempts: PermitAttempt[] = [];
  const realGrants: number[] = [];

  const startAttempt = (via: 'task' | 'scope'): void => {
    const a: PermitAttempt = { id: attempts.length, status: 'waiting', permit: null, error: null, cancel: () => {}, task: null };
    attempts.push(a);
    const body = async (): Promise<void> => {
      try {
        a.permit = await prim.acquire();
        a.status = 'holding';
        realGrants.push(a.id);
      } catch (e) {
        a.error = codeOf(e);
        a.status = 'cancelled';
        throw e;
      }
    };
    if (via === 'task') {
      const t = spawn(body);
      a.task = t;
      a.cancel = () => t.cancel();
    } else {
      a.task = spawn(() =>
        scope(async (s) => {
          a.cancel = () => s.cancel();
          await body();
        }),
      );
    }
    model.acquire(a.id);
  };

  const check = (step: string): void => {
    const where = `after ${step}`;
    for (const a of attempts) {
      const expected = model.holders.has(a.id)
        ? 'holding'
        : model.line.includes(a.id)
          ? 'waiting'
          : model.cancelled.has(a.id)
            ? 'cancelled'
            : 'released';
      assert.equal(a.status, expected, `${where}: attempt ${a.id}`);
      if (a.status === 'cancelled') {
        assert.equal(a.permit, null, `${where}: a cancelled waiter holds nothing`);
        assert.equal(a.error, 'LOOPWISE_CANCELLED', where);
      }
    }
    const held = attempts.filter((a) => a.status === 'holding').length;
    assert.ok(held <= n, `${where}: ${held} holders of ${n}`);
    assert.equal(prim.free() + held, n, `${where}: permits conserved`);
    assert.equal(prim.free(), model.available, where);
    assert.equal(prim.waiting, model.line.length, `${where}: waiting`);
    assert.deepEqual(realGrants, model.grants, `${where}: FIFO grant order`);
  };

  const releaseOne = (k: number, twice: boolean): boolean => {
    const holder = pick(
      attempts.filter((a) => a.status === 'holding'),
      k,
    );
    if (holder === undefined) return false;
    holder.permit![Symbol.dispose]();
    if (twice) holder.permit![Symbol.dispose](); // must not release a second permit
    holder.status = 'released';
    model.release(holder.id);
    return true;
  };

  for (let i = 0; i < cmds.length; i++) {
    const c = cmds[i]!;
    switch (c.op) {
      case 'acquire':
        startAttempt(c.via);
        break;
      case 'cancel': {
        const w = pick(model.line, c.k);
        if (w !== undefined) {
          attempts[w]!.cancel();
          model.cancel(w);
        }
        break;
      }
      case 'release':
        releaseOne(c.k, c.twice);
        break;
      case 'releaseAndCancel': {
        // The head of the line receives the permit and is cancelled in the same tick: the grant stands.
        const head = model.line[0];
        if (releaseOne(c.k, false) && head !== undefined) {
          attempts[head]!.cancel();
          model.cancel(head);
        }
        break;
      }
    }
    await turn();
    check(`step ${i} ${JSON.stringify(c)}`);
  }

  // Wind down: cancel the line, then give every permit back.
  for (const w of [...model.line]) {
    attempts[w]!.cancel();
    model.cancel(w);
  }
  await turn();
  while (releaseOne(0, false));
  await turn();
  check('wind-down');
  for (const a of attempts) await a.task!.then(undefined, () => {});
  assert.equal(prim.waiting, 0, 'nothing left waiting');
  assert.equal(prim.free(), n);
  assert.deepEqual(allTasks(), []);
}

test('Lock: random acquire/cancel/release interleavings keep mutual exclusion, FIFO and cancel-safety', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(permitCmd, { minLength: 1, maxLength: 40 }), async (cmds) => {
      await runPermitScenario(
        1,
        () => {
          const lock = new Lock();
          return {
            acquire: () => lock.acquire(),
            get waiting() {
              return lock.waiting;
            },
            free: () => (lock.locked ? 0 : 1),
          };
        },
        cmds,
      );
    }),
    { numRuns: RUNS, seed: SEED },
  );
  assertNoTasks();
});

test('Semaphore: random acquire/cancel/release interleavings conserve permits, keep FIFO and cancel-safety', async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.array(permitCmd, { minLength: 1, maxLength: 40 }), async (n, cmds) => {
      await runPermitScenario(
        n,
        () => {
          const sem = new Semaphore(n);
          return {
            acquire: () => sem.acquire(),
            get waiting() {
              return sem.waiting;
            },
            free: () => sem.available,
          };
        },
        cmds,
      );
    }),
    { numRuns: RUNS, seed: SEED },
  );
  assertNoTasks();
});

// ====================================================================== Queue

type QueueCmd =
  | { op: 'put'; via: 'task' | 'scope' }
  | { op: 'get'; via: 'task' | 'scope' }
  | { op: 'tryPut' }
  | { op: 'tryGet' }
  | { op: 'cancelGetter'; k: number }
  | { op: 'cancelPutter'; k: number }
  | { op: 'putAndCancelGetter' }
  | { op: 'getAndCancelPutter' }
  | { op: 'close' };

const via = fc.constantFrom('task' as const, 'scope' as const);
const queueCmd: fc.Arbitrary<QueueCmd> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('put' as const), via }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('get' as const), via }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('tryPut' as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('tryGet' as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('cancelGetter' as const), k: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('cancelPutter' as const), k: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('putAndCancelGetter' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('getAndCancelPutter' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('close' as const) }) },
);

type Outcome = 'waiting' | 'done' | 'LOOPWISE_CANCELLED' | 'LOOPWISE_QUEUE_CLOSED' | string;

interface QueueAttempt {
  readonly id: number;
  readonly kind: 'put' | 'get';
  /** The item a putter puts. */
  readonly value: number;
  outcome: Outcome;
  /** What a getter got. */
  got: number | undefined;
  cancel: () => void;
  task: Task<unknown>;
}

/** The reference queue: items, a FIFO of waiting getters and one of waiting putters. */
class QueueModel {
  readonly items: number[] = [];
  readonly getters: number[] = [];
  readonly putters: { id: number; value: number }[] = [];
  closed = false;
  readonly outcome = new Map<number, Outcome>();
  readonly got = new Map<number, number>();
  constructor(readonly max: number) {}

  /** put/tryPut without waiting: true if the item went in (or to a getter). */
  offer(value: number): boolean {
    const g = this.getters.shift();
    if (g !== undefined) {
      this.outcome.set(g, 'done');
      this.got.set(g, value);
      return true;
    }
    if (this.items.length < this.max) {
      this.items.push(value);
      return true;
    }
    return false;
  }
  put(id: number, value: number): void {
    if (this.closed) this.outcome.set(id, 'LOOPWISE_QUEUE_CLOSED');
    else if (this.offer(value)) this.outcome.set(id, 'done');
    else {
      this.putters.push({ id, value });
      this.outcome.set(id, 'waiting');
    }
  }
  /** get/tryGet without waiting: the item, or undefined. */
  take(): number | undefined {
    if (this.items.length === 0) return undefined;
    const v = this.items.shift()!;
    const p = this.putters.shift();
    if (p !== undefined) {
      this.items.push(p.value);
      this.outcome.set(p.id, 'done');
    }
    return v;
  }
  get(id: number): void {
    const v = this.take();
    if (v !== undefined) {
      this.outcome.set(id, 'done');
      this.got.set(id, v);
    } else if (this.closed) {
      this.outcome.set(id, 'LOOPWISE_QUEUE_CLOSED');
    } else {
      this.getters.push(id);
      this.outcome.set(id, 'waiting');
    }
  }
  cancelGetter(id: number): void {
    const i = this.getters.indexOf(id);
    if (i === -1) return;
    this.getters.splice(i, 1);
    this.outcome.set(id, 'LOOPWISE_CANCELLED');
  }
  cancelPutter(id: number): void {
    const i = this.putters.findIndex((p) => p.id === id);
    if (i === -1) return;
    this.putters.splice(i, 1);
    this.outcome.set(id, 'LOOPWISE_CANCELLED');
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.putters.splice(0)) this.outcome.set(p.id, 'LOOPWISE_QUEUE_CLOSED');
    for (const g of this.getters.splice(0)) this.outcome.set(g, 'LOOPWISE_QUEUE_CLOSED');
  }
}

async function runQueueScenario(maxsize: number, cmds: QueueCmd[]): Promise<void> {
  const q = new Queue<number>({ maxsize });
  const model = new QueueModel(maxsize === 0 ? Infinity : maxsize);
  const attempts: QueueAttempt[] = [];
  /** Items accepted by tryPut (no attempt object). */
  const accepted: number[] = [];
  /** Items taken by tryGet. */
  const taken: number[] = [];
  let nextValue = 1000;
  let nextId = 0;

  const start = (kind: 'put' | 'get', how: 'task' | 'scope'): void => {
    const a = { id: nextId++, kind, value: kind === 'put' ? nextValue++ : -1, outcome: 'waiting', got: undefined, cancel: () => {} } as QueueAttempt;
    attempts.push(a);
    const body = async (): Promise<void> => {
      try {
        if (kind === 'put') await q.put(a.value);
        else a.got = await q.get();
        a.outcome = 'done';
      } catch (e) {
        a.outcome = codeOf(e);
      }
    };
    if (how === 'task') {
      const t = spawn(body);
      a.task = t;
      a.cancel = () => t.cancel();
    } else {
      a.task = spawn(() =>
        scope(async (s) => {
          a.cancel = () => s.cancel();
          await body();
        }),
      );
    }
    if (kind === 'put') model.put(a.id, a.value);
    else model.get(a.id);
  };

  const tryPut = (): void => {
    const v = nextValue++;
    let real: boolean | string;
    try {
      real = q.tryPut(v);
    } catch (e) {
      real = codeOf(e);
    }
    const expected = model.closed ? 'LOOPWISE_QUEUE_CLOSED' : model.offer(v);
    assert.equal(real, expected, `tryPut(${v})`);
    if (real === true) accepted.push(v);
  };

  const tryGet = (): void => {
    const real = q.tryGet();
    assert.equal(real, model.take(), 'tryGet');
    if (real !== undefined) taken.push(real);
  };

  const byId = (id: number): QueueAttempt => attempts.find((a) => a.id === id)!;

  const check = (step: string): void => {
    const where = `after ${step}`;
    assert.equal(q.size, model.items.length, `${where}: size`);
    assert.equal(q.closed, model.closed, `${where}: closed`);
    for (const a of attempts) {
      assert.equal(a.outcome, model.outcome.get(a.id), `${where}: ${a.kind} #${a.id}`);
      if (a.kind === 'get') assert.equal(a.got, model.got.get(a.id), `${where}: get #${a.id} got`);
    }
    // Conservation: what went in == what came out + what is inside, with no duplicates.
    const putIn = [...accepted, ...attempts.filter((a) => a.kind === 'put' && a.outcome === 'done').map((a) => a.value)];
    const cameOut = [...taken, ...attempts.filter((a) => a.kind === 'get' && a.got !== undefined).map((a) => a.got!)];
    assert.equal(new Set(cameOut).size, cameOut.length, `${where}: an item was got twice`);
    const inside = [...model.items];
    assert.deepEqual([...cameOut, ...inside].sort(), [...putIn].sort(), `${where}: items lost or invented`);
    const refused = new Set(attempts.filter((a) => a.kind === 'put' && a.outcome !== 'done' && a.outcome !== 'waiting').map((a) => a.value));
    for (const v of [...cameOut, ...inside]) assert.ok(!refused.has(v), `${where}: item ${v} of a cancelled/refused putter came through`);
  };

  for (let i = 0; i < cmds.length; i++) {
    const c = cmds[i]!;
    switch (c.op) {
      case 'put':
      case 'get':
        start(c.op, c.via);
        break;
      case 'tryPut':
        tryPut();
        break;
      case 'tryGet':
        tryGet();
        break;
      case 'cancelGetter': {
        const id = pick(model.getters, c.k);
        if (id !== undefined) {
          byId(id).cancel();
          model.cancelGetter(id);
        }
        break;
      }
      case 'cancelPutter': {
        const p = pick(model.putters, c.k);
        if (p !== undefined) {
          byId(p.id).cancel();
          model.cancelPutter(p.id);
        }
        break;
      }
      case 'putAndCancelGetter': {
        // The head getter receives an item and is cancelled in the same tick: it keeps the item.
        const head = model.getters[0];
        if (!model.closed) tryPut();
        if (head !== undefined) {
          byId(head).cancel();
          model.cancelGetter(head);
        }
        break;
      }
      case 'getAndCancelPutter': {
        // The head putter's item moves into the queue and the putter is cancelled in the same tick: the put stands.
        const head = model.putters[0];
        tryGet();
        if (head !== undefined) {
          byId(head.id).cancel();
          model.cancelPutter(head.id);
        }
        break;
      }
      case 'close':
        q.close();
        model.close();
        break;
    }
    await turn();
    check(`step ${i} ${JSON.stringify(c)}`);
  }

  // Wind down: close (rejecting whoever still waits), then drain what is left.
  q.close();
  model.close();
  await turn();
  check('close');
  while (q.size > 0) tryGet();
  check('drain');
  await assert.rejects(q.get(), { code: 'LOOPWISE_QUEUE_CLOSED' });
  for (const a of attempts) {
    assert.notEqual(a.outcome, 'waiting', `nothing left waiting: ${a.kind} #${a.id}`);
    await a.task;
  }
  assert.deepEqual(allTasks(), []);
}

test('Queue: random put/get/try*/cancel/close interleavings lose, duplicate and invent no item, FIFO on both ends', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(0, 1, 2, 3), fc.array(queueCmd, { minLength: 1, maxLength: 40 }), async (maxsize, cmds) => {
      await runQueueScenario(maxsize, cmds);
    }),
    { numRuns: RUNS, seed: SEED },
  );
  assertNoTasks();
});
