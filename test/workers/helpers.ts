/**
 * Shared helpers of the worker-pool tests: fixture URLs, shared-memory
 * hand-shakes with the fixture jobs (test/fixtures/workers/control.mjs), and
 * ways to observe promises and threads without sleeping.
 */
import assert from 'node:assert/strict';

// In Node 20 but not in the ES2023 lib the project compiles against.
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, ms?: number): { async: boolean; value: unknown } }).waitAsync;

/** A fixture module, from build/test/workers/ back to the sources. */
export function fixture(name: string): URL {
  return new URL(`../../../test/fixtures/workers/${name}`, import.meta.url);
}

/** Shared memory for the hand-shakes. Cell 0 is the fixtures' nap cell: never write it. */
export function shared(cells = 32): Int32Array {
  return new Int32Array(new SharedArrayBuffer(cells * 4));
}

/**
 * Waits (without blocking the loop) until mem[i] satisfies `ok`; returns the
 * value. Bounded: throws naming `what` after ~15 s of no progress.
 */
export async function waitFor(mem: Int32Array, i: number, what: string, ok: (v: number) => boolean = (v) => v !== 0): Promise<number> {
  for (let round = 0; round < 300; round++) {
    const v = Atomics.load(mem, i);
    if (ok(v)) return v;
    const r = waitAsync(mem, i, v, 50);
    if (r.async) await r.value;
  }
  throw new Error(`gave up waiting for ${what} (mem[${i}] = ${Atomics.load(mem, i)})`);
}

/** Sets mem[i] and wakes its waiters (releases a blocked fixture job). */
export function release(mem: Int32Array, i: number, v = 1): void {
  Atomics.store(mem, i, v);
  Atomics.notify(mem, i);
}

/** One macrotask turn. */
export function turn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

export type Outcome<T> = { status: 'fulfilled'; value: T } | { status: 'rejected'; reason: any } | { status: 'pending' };

/** A live view of a promise's state, updated as it settles. */
export function track<T>(p: PromiseLike<T>): { readonly outcome: Outcome<T>; readonly settled: Promise<Outcome<T>> } {
  let outcome: Outcome<T> = { status: 'pending' };
  const settled = Promise.resolve(p).then(
    (value) => (outcome = { status: 'fulfilled', value }),
    (reason) => (outcome = { status: 'rejected', reason }),
  );
  return {
    get outcome() {
      return outcome;
    },
    settled,
  };
}

/** The promise's state after the current microtasks and one macrotask turn: proves "at once". */
export async function stateSoon<T>(p: PromiseLike<T>): Promise<Outcome<T>> {
  const t = track(p);
  await turn();
  return t.outcome;
}

/** The rejection of `p` (fails the test when it fulfils). */
export async function rejection(p: PromiseLike<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.fail('expected a rejection');
}

/** Worker threads alive in this process (the diagnostic report lists them; Node 20's getActiveResourcesInfo does not). */
export function liveWorkers(): number {
  return (process.report.getReport() as { workers: unknown[] }).workers.length;
}

/** The threadIds of the worker threads alive in this process. */
export function liveThreadIds(): number[] {
  return (process.report.getReport() as { workers: { header: { threadId: number } }[] }).workers.map((w) => w.header.threadId);
}

/**
 * Polls `pred` once per short timer turn until it holds; bounded (throws
 * naming `what`). For states with no event to wait on (an idle thread exiting).
 */
export async function until(pred: () => boolean, what: string, turns = 5000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (pred()) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`gave up waiting until ${what}`);
}

/** Closes a pool at the end of a test whatever happened (force: blocked fixture jobs must not keep it open). */
export function closeAfter(t: { after(fn: () => unknown): void }, pool: { close(o?: { force?: boolean }): Promise<void>; stats(): { threads: number } }, ...mems: Int32Array[]): void {
  t.after(async () => {
    for (const m of mems) for (let i = 1; i < m.length; i++) release(m, i, Atomics.load(m, i) || 1);
    await pool.close({ force: true });
    assert.equal(pool.stats().threads, 0, 'a thread of the pool outlived close()');
  });
}

/** For a file-level `after`: no worker thread of any pool is left in the process. */
export function assertNoWorkers(): void {
  assert.deepEqual(liveThreadIds(), [], 'worker threads left alive');
}

export const T = { timeout: 30_000 };
