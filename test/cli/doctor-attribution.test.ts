/**
 * The doctor's attribution of a block from a CPU profile, on synthetic
 * profiles (what V8 writes, reduced to the nodes that matter): V8 charges
 * inlined code to the function it was inlined into, so a handler whose
 * line only calls `renderReport(...)` shows self samples beside its child
 * renderReport; those are renderReport's time. A caller whose line calls
 * nothing of the program's own (`JSON.parse`) keeps its own samples.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';

const { analyze } = (await import(new URL('../../../dist/cli/doctor/analyze.js', import.meta.url).href)) as typeof import('../../dist/cli/doctor/analyze.js');
type RawProcess = Parameters<typeof analyze>[0][number];

const MS = 1_000_000n;

/** One process, one block [100 ms, 600 ms], and a profile whose samples (every 10 ms) alternate as `pattern` says. */
function run(handlerLine: string, pattern: ('self' | 'child')[]) {
  const dir = mkdtempSync(join(tmpdir(), 'loopwise-attr-'));
  try {
    const file = join(dir, 'server.js');
    writeFileSync(file, ['function render(n) { return n; }', 'function handler(req) {', handlerLine, '}', ''].join('\n'));
    const url = pathToFileURL(file).href;
    const frame = (id: number, functionName: string, line: number, children: number[] = []) => ({
      id,
      callFrame: { functionName, url: functionName.startsWith('(') ? '' : url, scriptId: '1', lineNumber: line - 1, columnNumber: 0 },
      children,
      positionTicks: [{ line, ticks: 1 }],
    });
    const nodes = [frame(1, '(root)', 0, [2]), frame(2, 'handler', 3, [3]), frame(3, 'render', 1)];
    const startUs = Number((100n * MS) / 1000n);
    const samples: number[] = [];
    const timeDeltas: number[] = [];
    for (let i = 0; i < 50; i++) {
      samples.push(pattern[i % pattern.length] === 'self' ? 2 : 3);
      timeDeltas.push(i === 0 ? 1_000 : 10_000);
    }
    const p: RawProcess = {
      pid: 1,
      ppid: 0,
      argv: ['node', 'server.js'],
      startNs: 0n,
      endNs: 700n * MS,
      samples: [],
      blocks: [{ startNs: 100n * MS, endNs: 600n * MS, durationMs: 500, startup: false, stack: [], samples: 0, afterNativeCall: false, unfinished: false }],
      debuggerPauses: 0,
      starved: { count: 0, totalMs: 0 },
      profile: { nodes, startTime: startUs, endTime: startUs + 500_000, samples, timeDeltas },
    };
    return analyze([p], {
      command: ['node', 'server.js'],
      startedAt: new Date(0),
      t0Ns: 0n,
      endNs: 700n * MS,
      thresholdMs: 100,
      target: { code: 0, signal: null },
      toolVersion: 'test',
      targetExitCode: 0,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('self samples on a line that calls an own function it is the caller of go to that function', () => {
  const report = run('  if (req.url === "/report") render(400000);', ['self', 'child', 'child']);
  assert.deepEqual(
    report.culprits.map((c) => c.functionName),
    ['render'],
  );
  assert.equal(report.blocks[0]!.culprit?.functionName, 'render');
  assert.equal(report.blocks[0]!.shares, undefined, 'one culprit: no split');
});

test('self samples on a line that calls nothing of the program (a native call) stay the caller\'s', () => {
  const report = run('  const body = JSON.parse(req.body);', ['self', 'self', 'child']);
  const names = report.culprits.map((c) => c.functionName).sort();
  assert.deepEqual(names, ['handler', 'render']);
  assert.equal(report.blocks[0]!.culprit?.functionName, 'handler', 'most samples are its own');
  assert.equal(report.blocks[0]!.shares?.length, 2);
});

test('a culprit whose samples are all in a native call it makes gets the line of that call, not of its declaration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loopwise-attr-'));
  try {
    const file = join(dir, 'auth.js');
    writeFileSync(file, ['function deriveKey(pw) {', "  const salt = 'x';", "  return pbkdf2Sync(pw, salt, 100000, 32, 'sha256');", '}', 'function other() { return pbkdf2Sync(1); }', ''].join('\n'));
    const url = pathToFileURL(file).href;
    const nodes = [
      { id: 1, callFrame: { functionName: '(root)', url: '', scriptId: '0', lineNumber: -1, columnNumber: -1 }, children: [2] },
      { id: 2, callFrame: { functionName: 'deriveKey', url, scriptId: '1', lineNumber: 0, columnNumber: 18 }, children: [3] },
      { id: 3, callFrame: { functionName: 'pbkdf2Sync', url: 'node:internal/crypto/pbkdf2', scriptId: '2', lineNumber: 61, columnNumber: 19 }, positionTicks: [{ line: 74, ticks: 30 }] },
    ];
    const startUs = Number((100n * MS) / 1000n);
    const p: RawProcess = {
      pid: 1,
      ppid: 0,
      argv: ['node', 'auth.js'],
      startNs: 0n,
      endNs: 700n * MS,
      samples: [],
      blocks: [{ startNs: 100n * MS, endNs: 600n * MS, durationMs: 500, startup: false, stack: [], samples: 0, afterNativeCall: false, unfinished: false }],
      debuggerPauses: 0,
      starved: { count: 0, totalMs: 0 },
      profile: { nodes, startTime: startUs, endTime: startUs + 500_000, samples: Array(40).fill(3), timeDeltas: Array(40).fill(10_000) },
    };
    const report = analyze([p], { command: ['node'], startedAt: new Date(0), t0Ns: 0n, endNs: 700n * MS, thresholdMs: 100, target: { code: 0, signal: null }, toolVersion: 'test', targetExitCode: 0 });
    const b = report.blocks[0]!;
    assert.equal(b.culprit?.functionName, 'deriveKey');
    assert.equal(b.culprit?.line, 3, 'the line that calls pbkdf2Sync');
    assert.equal(b.stack.find((f) => f.functionName === 'deriveKey')?.line, 3);
    assert.equal(report.culprits[0]!.line, 3);
    assert.match(report.culprits[0]!.advice, /pbkdf2 \(async\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
