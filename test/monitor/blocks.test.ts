/**
 * monitorLoop on real blocking code on the main thread: the watchdog must
 * take the stack while the loop is blocked and name the function, its
 * file:line, its callers and the task.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { spawn } from 'loopwise';
import { monitorLoop, type BlockEvent, type LoopMonitor, type MonitorOptions } from 'loopwise/monitor';
import { assertNoTasks } from '../helpers/leaks.js';

const FIXTURE = new URL('../../../test/fixtures/monitor/blockers.mjs', import.meta.url);
const blockers = (await import(FIXTURE.href)) as {
  spinFor(ms: number): number;
  spinOnPerformance(ms: number): number;
  decodeBody(text: string): number;
  checkHandle(handle: string): boolean;
  deriveKey(iterations: number): Buffer;
  scanFile(path: string, rounds: number): number;
  handleRequest(ms: number): number;
};
const SOURCE = readFileSync(fileURLToPath(FIXTURE), 'utf8').split('\n');
/** The 1-based line of the fixture that carries `// <marker>`. */
function lineOf(marker: string): number {
  const i = SOURCE.findIndex((l) => l.includes(`// ${marker}`));
  assert.ok(i >= 0, marker);
  return i + 1;
}

const THRESHOLD = 50;

/**
 * Starts a monitor, waits until its first heartbeat ran (a timer due later
 * than the heartbeat fires after it: Node runs timers in due order), runs
 * `block` on the main thread, and resolves with the first block reported.
 */
async function catchOne(block: () => void, opts: MonitorOptions): Promise<BlockEvent> {
  let got!: (b: BlockEvent) => void;
  const first = new Promise<BlockEvent>((resolve) => (got = resolve));
  const monitor = monitorLoop({ blockThresholdMs: THRESHOLD, ...opts, onBlock: (b) => got(b) });
  await monitor.ready;
  await delay(THRESHOLD);
  // The monitor keeps nothing alive (its timer and thread are unref'd): hold
  // the process open until the block is reported.
  const keep = setInterval(() => {}, 1_000);
  block();
  // Bounded: a block that is never reported fails the test instead of hanging it.
  const bound = new AbortController();
  const timedOut = delay(20_000, undefined, { signal: bound.signal }).then(() => {
    throw new Error('no block reported within 20 s');
  }, () => undefined as never);
  const b = await Promise.race([first, timedOut]).finally(() => {
    bound.abort();
    clearInterval(keep);
  });
  monitor.stop();
  await monitor.closed;
  return b;
}

/**
 * catchOne, retried (up to 3 times) while the watchdog thread was starved of
 * CPU so badly that its first pause came only after the block had ended: on
 * a shared 2-core machine another process can hold both cores for 100+ ms.
 * A retry is reported, so a real regression still fails all three.
 */
async function catchBlock(block: () => void, opts: MonitorOptions = {}, wanted: (b: BlockEvent) => boolean = hasFixtureFrame): Promise<{ b: BlockEvent }> {
  let b!: BlockEvent;
  for (let attempt = 1; attempt <= 3; attempt++) {
    b = await catchOne(block, opts);
    if (wanted(b)) break;
    console.log(`# attempt ${attempt}: the watchdog saw the block late (pause latency ${b.pauseLatencyMs} ms): retrying`);
  }
  return { b };
}

function hasFixtureFrame(b: BlockEvent): boolean {
  return b.stack.some((f) => f.url === FIXTURE.href);
}

function names(b: BlockEvent): string[] {
  return b.stack.map((f) => f.functionName);
}

/** The innermost frame that is not Node's own (a sample can land inside `performance.now()`). */
function assertTop(b: BlockEvent, fn: string, marker: string): void {
  const top = b.stack.find((f) => !f.url.startsWith('node:'));
  assert.ok(top, `a stack was taken: ${JSON.stringify(b)}`);
  assert.equal(top.functionName, fn, `top frame ${JSON.stringify(top)}`);
  assert.equal(top.url, FIXTURE.href);
  assert.equal(top.line, lineOf(marker));
}

/** Doubles the input until `fn` takes about `ms` (exponential work such as a backtracking regex). */
function calibrate(make: (n: number) => () => void, ms: number, start: number): number {
  let n = start;
  for (;;) {
    const t = performance.now();
    make(n)();
    const took = performance.now() - t;
    if (took * 2 >= ms || n > start + 40) return took > ms ? n : n + Math.max(1, Math.floor(Math.log2(ms / Math.max(took, 0.5))));
    n++;
  }
}

test('a pure JS loop: the block is timed and the spinning function named with file:line while it runs', async () => {
  const { b } = await catchBlock(() => blockers.spinFor(300));
  assertTop(b, 'spinFor', 'spin-line');
  assert.equal(b.phase, 'running');
  // spinFor spins on the wall clock, so our pauses shorten its work, and durationMs leaves them out.
  assert.ok(b.durationMs + b.captureMs >= 250 && b.durationMs < 2_000, `duration ${b.durationMs} + capture ${b.captureMs}`);
  assert.ok(b.samples >= 2, `several samples of a long block: ${b.samples}`);
  assert.ok(b.topFrames.some((f) => f.functionName === 'spinFor'), JSON.stringify(b.topFrames));
  assert.ok(Math.abs(b.startedAt - (Date.now() - b.durationMs)) < 5_000, 'startedAt is epoch ms');
  assertNoTasks();
});

test('nested callers are on the stack, innermost first', async () => {
  const { b } = await catchBlock(() => blockers.handleRequest(200));
  const n = names(b);
  const i = n.indexOf('spinFor');
  assert.deepEqual(n.slice(i, i + 4), ['spinFor', 'normalize', 'validateInput', 'handleRequest']);
  assert.equal(b.stack[i + 1]!.line, lineOf('inner-line'));
  assert.equal(b.stack[i + 2]!.line, lineOf('middle-line'));
  assert.equal(b.stack[i + 3]!.line, lineOf('outer-line'));
});

test('a block inside a named task names the task', async () => {
  const { b } = await catchBlock(() => {
    void spawn(async () => blockers.spinFor(200), { name: 'resize-images' });
  });
  assert.equal(b.task, 'resize-images');
  assertTop(b, 'spinFor', 'spin-line');
  assertNoTasks();
});

test('the task is named from every sample, also one that lands in a frame of Node\'s own (performance.now())', async () => {
  // One sample per block: it alone must carry the task's name.
  for (let i = 0; i < 3; i++) {
    const { b } = await catchBlock(() => {
      void spawn(async () => blockers.spinOnPerformance(200), { name: 'poll-clock' });
    }, { maxSamples: 1 });
    assert.equal(b.samples, 1);
    assert.equal(b.task, 'poll-clock', `sample at ${b.stack.map((f) => f.functionName).join(' < ')}`);
    assert.ok(b.stack.some((f) => f.functionName === 'spinOnPerformance'), b.stack.map((f) => f.functionName).join(' < '));
  }
  assertNoTasks();
});

test('a block outside any task has no task', async () => {
  const { b } = await catchBlock(() => blockers.spinFor(150));
  assert.equal(b.task, undefined);
});

test('a catastrophic regex: the pause lands during the backtracking, in the function that runs it', async () => {
  const n = calibrate((k) => () => blockers.checkHandle('a'.repeat(k) + '!'), 250, 14);
  const { b } = await catchBlock(() => blockers.checkHandle('a'.repeat(n) + '!'));
  assertTop(b, 'checkHandle', 'regex-line');
});

test('JSON.parse (native, not interruptible): marked as taken after the native call, still inside its caller', async () => {
  const text = JSON.stringify(Array.from({ length: 1_500_000 }, (_, i) => ({ id: i, name: `item-${i}` })));
  const t = performance.now();
  blockers.decodeBody(text);
  const once = performance.now() - t;
  const rounds = Math.max(1, Math.ceil(200 / Math.max(once, 1)));
  const { b } = await catchBlock(() => {
    for (let i = 0; i < rounds; i++) blockers.decodeBody(text);
  }, {}, (x) => x.stack.length > 0 && x.durationMs + x.captureMs >= 0.5 * once * rounds);
  assert.ok(b.durationMs >= THRESHOLD);
  // Where the pause lands after JSON.parse returns depends on V8's next
  // interrupt check (decodeBody, its caller's loop, or later): not asserted.
  // loopwise doctor attributes such blocks from a CPU profile instead.
  // One parse far longer than the threshold: the watchdog's probe waits for it to return.
  if (rounds === 1 && once > 4 * THRESHOLD) assert.equal(b.afterNativeCall, true, `one parse took ${once} ms`);
});

test('pbkdf2Sync (native): the stack holds pbkdf2Sync and the caller deriveKey, marked after a native call', async () => {
  const t = performance.now();
  blockers.deriveKey(20_000);
  const per = (performance.now() - t) / 20_000;
  const iterations = Math.ceil(300 / Math.max(per, 1e-6));
  const { b } = await catchBlock(() => blockers.deriveKey(iterations));
  const n = names(b);
  assert.ok(n.includes('deriveKey'), n.join(' < '));
  assert.ok(n.includes('pbkdf2Sync'), n.join(' < '));
  assert.equal(b.afterNativeCall, true);
  assert.ok(b.durationMs >= THRESHOLD, `duration ${b.durationMs}`);
});

test('readFileSync + a scan of the text: the scanning function is named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'loopwise-scan-'));
  try {
    const path = join(dir, 'big.txt');
    writeFileSync(path, 'line of text\n'.repeat(400_000));
    const t = performance.now();
    blockers.scanFile(path, 1);
    const rounds = Math.max(1, Math.ceil(250 / Math.max(performance.now() - t, 1)));
    const { b } = await catchBlock(() => blockers.scanFile(path, rounds));
    assert.equal(b.stack.find((f) => f.url === FIXTURE.href)?.functionName, 'scanFile');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('captureStacks: false still times the block, takes no stack and never pauses', async () => {
  const { b } = await catchBlock(() => blockers.spinFor(200), { captureStacks: false }, () => true);
  assert.deepEqual(b.stack, []);
  assert.equal(b.samples, 0);
  assert.equal(b.skipped, 'disabled');
  assert.ok(b.durationMs >= 150);
  assert.equal(b.captureMs, 0);
});

test('maxSamples bounds the pauses of one long block; never more than one pause per threshold', async () => {
  const { b } = await catchBlock(() => blockers.spinFor(600), { maxSamples: 2 }, (x) => x.samples === 2);
  assert.equal(b.samples, 2);
  const { b: b2 } = await catchBlock(() => blockers.spinFor(600));
  // 600 ms at one pause per 50 ms at most: no more than 600 / 50 + 1 samples.
  assert.ok(b2.samples <= 600 / THRESHOLD + 1, `samples ${b2.samples}`);
});

test('snapshot: the block is counted, delay max reflects it, utilisation is high', async () => {
  let got!: () => void;
  const seen = new Promise<void>((resolve) => (got = resolve));
  // Only the spin below counts: on a loaded machine a short stall of the whole process can come first.
  const monitor = monitorLoop({ blockThresholdMs: THRESHOLD, onBlock: (b) => b.durationMs + b.captureMs >= 200 && got() });
  try {
    await monitor.ready;
    await delay(THRESHOLD);
    const keep = setInterval(() => {}, 1_000);
    blockers.spinFor(250);
    await seen.finally(() => clearInterval(keep));
    const s = monitor.snapshot();
    assert.ok(s.blockCount >= 1);
    assert.equal(s.blocks.length, s.blockCount);
    assert.ok(s.blocks.some((b) => b.durationMs + b.captureMs >= 200), JSON.stringify(s.blocks));
    assert.ok(s.blockedMs > 0);
    assert.ok(s.delay.max >= 100, `delay max ${s.delay.max}`);
    assert.ok(s.utilization > 0.3 && s.utilization <= 1, `utilization ${s.utilization}`);
    monitor.reset();
    const r = monitor.snapshot();
    assert.equal(r.blockCount, 0);
    assert.deepEqual(r.blocks, []);
    assert.ok(r.since >= s.since);
  } finally {
    monitor.stop();
    await monitor.closed;
  }
});
