/**
 * monitorLoop without blocks: options, start/stop, a healthy workload, a
 * debugger, and the debug-mode warning.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import inspector from 'node:inspector';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { configure } from 'loopwise';
import { monitorLoop, type BlockEvent } from 'loopwise/monitor';
import { activeResources, assertNoNewTimers } from '../helpers/leaks.js';

function spin(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end);
}

test('bad options throw naming the option and the value', () => {
  const bad: [unknown, RegExp, string][] = [
    [{ blockThresholdMs: -1 }, /opts\.blockThresholdMs.*-1/, 'LOOPWISE_INVALID_ARG_VALUE'],
    [{ blockThresholdMs: 5 }, /opts\.blockThresholdMs must be >= 10, got 5/, 'LOOPWISE_INVALID_ARG_VALUE'],
    [{ blockThresholdMs: Number.NaN }, /opts\.blockThresholdMs.*NaN/, 'LOOPWISE_INVALID_ARG_VALUE'],
    [{ blockThresholdMs: '100' }, /opts\.blockThresholdMs.*"100"/, 'LOOPWISE_INVALID_ARG_TYPE'],
    [{ captureStacks: 'yes' }, /opts\.captureStacks must be a boolean, got "yes"/, 'LOOPWISE_INVALID_ARG_TYPE'],
    [{ gc: 1 }, /opts\.gc must be a boolean, got 1/, 'LOOPWISE_INVALID_ARG_TYPE'],
    [{ onBlock: 42 }, /opts\.onBlock must be a function, got 42/, 'LOOPWISE_INVALID_ARG_TYPE'],
    [{ maxSamples: 0 }, /opts\.maxSamples.*0/, 'LOOPWISE_INVALID_ARG_VALUE'],
    [{ maxSamples: 101 }, /opts\.maxSamples must be <= 100, got 101/, 'LOOPWISE_INVALID_ARG_VALUE'],
    [{ maxBlocks: 1.5 }, /opts\.maxBlocks.*1\.5/, 'LOOPWISE_INVALID_ARG_VALUE'],
    [null, /opts must be an object, got null/, 'LOOPWISE_INVALID_ARG_TYPE'],
  ];
  for (const [opts, message, code] of bad) {
    assert.throws(() => monitorLoop(opts as never), (e: Error & { code?: string }) => message.test(e.message) && e.code === code, String(message));
  }
});

test('start/stop 100 times leaves no watchdog thread, timer or observer behind', async () => {
  const before = activeResources();
  for (let i = 0; i < 100; i++) {
    const m = monitorLoop({ blockThresholdMs: 50 });
    if (i % 2 === 0) m.stop();
    else m[Symbol.dispose]();
    m.stop(); // idempotent
    await m.closed;
  }
  assertNoNewTimers(before);
  assert.ok((activeResources().get('MessagePort') ?? 0) <= (before.get('MessagePort') ?? 0), 'no port left');
});

test('a monitor that is never stopped does not keep the process alive', async () => {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', "import { monitorLoop } from 'loopwise/monitor'; monitorLoop(); console.log('started');"], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'started');
  assert.doesNotMatch(r.stderr, /Waiting for the debugger/);
});

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

function get(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
}

test('a healthy I/O workload of many short callbacks reports no block, low delay', async () => {
  const blocks: BlockEvent[] = [];
  // 500 ms: a loaded 2-core machine can deschedule a process for 200 ms; no code of this workload comes near.
  const monitor = monitorLoop({ blockThresholdMs: 500, onBlock: (b) => blocks.push(b) });
  const server = createServer((req, res) => {
    setImmediate(() => res.end(JSON.stringify({ ok: true, t: Date.now() })));
  });
  try {
    const port = await listen(server);
    for (let round = 0; round < 20; round++) {
      await Promise.all(Array.from({ length: 20 }, () => get(port)));
    }
    const s = monitor.snapshot();
    assert.deepEqual(blocks, []);
    assert.equal(s.blockCount, 0);
    assert.ok(s.delay.p50 < 50, `p50 ${s.delay.p50}`);
    assert.ok(s.utilization >= 0 && s.utilization <= 1);
  } finally {
    server.close();
    monitor.stop();
    await monitor.closed;
  }
});

test('an idle loop reads a delay near zero, not the timer resolution', async () => {
  const monitor = monitorLoop({ blockThresholdMs: 40 });
  try {
    await delay(300);
    const s = monitor.snapshot();
    assert.ok(s.delay.p50 < 5, `idle p50 ${s.delay.p50}`);
  } finally {
    monitor.stop();
    await monitor.closed;
  }
});

test('with a debugger open (inspector.url() set) a stall is a debugger pause, never a block, and nothing is resumed by us', async () => {
  const blocks: BlockEvent[] = [];
  inspector.open(0, '127.0.0.1');
  const monitor = monitorLoop({ blockThresholdMs: 50, onBlock: (b) => blocks.push(b) });
  try {
    await monitor.ready;
    await delay(60);
    spin(250);
    // The watchdog reports the pause right after the stall; wait for the count, bounded.
    for (let i = 0; i < 100 && monitor.snapshot().debuggerPauses === 0; i++) await delay(20);
    // At least the spin (opening and closing an inspector can stall the loop too); never a block.
    assert.ok(monitor.snapshot().debuggerPauses >= 1);
    assert.deepEqual(blocks, []);
  } finally {
    monitor.stop();
    await monitor.closed;
    inspector.close();
  }
});

test('debug mode warns about a block with code LOOPWISE_LOOP_BLOCKED, naming the function and the stack', async () => {
  configure({ debug: true });
  let got!: (w: Error & { code?: string; detail?: string }) => void;
  const warned = new Promise<Error & { code?: string; detail?: string }>((resolve) => (got = resolve));
  // The spin below, not another stall of the process (closing the previous test's inspector can take 90 ms).
  const onWarning = (w: Error & { code?: string }) => {
    if (w.code === 'LOOPWISE_LOOP_BLOCKED' && / at spin \(/.test(w.message)) got(w);
  };
  process.on('warning', onWarning);
  const monitor = monitorLoop({ blockThresholdMs: 50 });
  const keep = setInterval(() => {}, 1_000);
  try {
    await monitor.ready;
    await delay(60);
    spin(200);
    const w = await warned;
    assert.match(w.message, /the event loop was blocked for \d+ ms at spin \(.*lifecycle\.test\.js:\d+:\d+\)/);
    assert.match(w.detail ?? '', /at spin \(/);
  } finally {
    clearInterval(keep);
    process.off('warning', onWarning);
    configure({ debug: false });
    monitor.stop();
    await monitor.closed;
  }
});
