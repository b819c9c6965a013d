/**
 * `loopwise doctor` on real target programs (test/fixtures/doctor/): each
 * kind of block named by function and file:line, a healthy program, a crash,
 * a Node child, Ctrl-C, the --max-block gate, bad arguments.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { DoctorReport } from '../../src/report/types.js';

const BIN = fileURLToPath(new URL('../../../dist/cli/bin.js', import.meta.url));
const FIXTURES = new URL('../../../test/fixtures/doctor/', import.meta.url);
const fixture = (name: string): string => fileURLToPath(new URL(name, FIXTURES));
const fixtureUrl = (name: string): string => new URL(name, FIXTURES).href;

function tmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'loopwise-doctor-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function doctor(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, 'doctor', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 90_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function readReport(out: string): DoctorReport {
  return JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as DoctorReport;
}

function culprit(r: DoctorReport, fn: string) {
  return r.culprits.find((c) => c.functionName === fn);
}

test('a service with every kind of block: each culprit named with its file, the task named, verdict event-loop-blocked', async (t) => {
  const out = tmp(t);
  const r = doctor(['--out', out, '--threshold', '50', '--', process.execPath, fixture('blocking-server.mjs')]);
  assert.equal(r.status, 0, r.stderr);
  const report = readReport(out);
  assert.equal(report.diagnosis.verdict, 'event-loop-blocked');
  const url = fixtureUrl('blocking-server.mjs');
  // JSON.parse and pbkdf2Sync (native: attributed from the CPU profile), a regex, readFileSync + scan.
  for (const fn of ['decodeBody', 'deriveKey', 'checkHandle', 'countLines']) {
    const c = culprit(report, fn);
    assert.ok(c, `${fn} among the culprits: ${report.culprits.map((x) => x.functionName).join(', ')}`);
    assert.equal(c.url, url);
    assert.ok(c.stack.some((f) => f.functionName === fn && f.url === url), `${fn} in its stack`);
    assert.ok(c.line > 0 && c.advice.length > 0);
  }
  assert.match(culprit(report, 'checkHandle')!.advice, /the regular expression in checkHandle \(.*blocking-server\.mjs:\d+\) backtracks/);
  // A JS loop: spinFor is the culprit, renderInvoice its caller on the stack.
  assert.ok(culprit(report, 'spinFor'));
  assert.ok(report.blocks.some((b) => b.culprit?.functionName === 'spinFor' && b.stack.some((f) => f.functionName === 'renderInvoice' && f.url === url)));
  // loopwise's own sampling is never a culprit.
  assert.ok(report.culprits.every((c) => !/\/dist\/(monitor|register)\//.test(c.url)), report.culprits.map((c) => c.url).join());
  // spinFor is the innermost own frame of the JS-loop routes; the callers are on its stack.
  const deep = report.blocks.find((b) => b.stack.some((f) => f.functionName === 'level3'));
  assert.ok(deep, 'the deep call chain is on a stack');
  const names = deep.stack.map((f) => f.functionName);
  assert.ok(names.indexOf('level3') < names.indexOf('level2') && names.indexOf('level2') < names.indexOf('level1'), names.join(' < '));
  assert.ok(report.blocks.some((b) => b.task === 'nightly-report'), 'the block inside a named task carries its name');
  assert.match(culprit(report, 'deriveKey')?.advice ?? report.culprits.find((c) => c.stack.some((f) => f.functionName === 'pbkdf2Sync'))!.advice, /pbkdf2 \(async\)/);
  // The report files, readable by the same user only.
  assert.equal(statSync(join(out, 'report.json')).mode & 0o077, 0);
  assert.equal(statSync(join(out, 'data')).mode & 0o077, 0);
  assert.ok(readFileSync(join(out, 'report.html'), 'utf8').includes('<!doctype html>') || readFileSync(join(out, 'report.html'), 'utf8').toLowerCase().includes('<!doctype html>'));
  assert.match(r.stdout, /loopwise doctor: event-loop-blocked/);
  assert.match(r.stdout, /report: .*report\.html/);
  assert.ok(report.timeline.length > 3, 'timeline samples');
  assert.equal(report.processes.length, 1);
  assert.ok(report.blocks.every((b) => b.pid === report.processes[0]!.pid));
});

test('a healthy I/O-heavy program: verdict healthy, no running block', (t) => {
  const out = tmp(t);
  const r = doctor(['--out', out, '--threshold', '200', '--json', '--', process.execPath, fixture('healthy.mjs')]);
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { verdict: string; blocks: number; report: { html: string } };
  assert.equal(summary.blocks, 0);
  assert.ok(['healthy', 'io-bound'].includes(summary.verdict), summary.verdict);
  const report = readReport(out);
  assert.deepEqual(report.blocks.filter((b) => b.phase === 'running'), []);
  assert.deepEqual(report.culprits, []);
  assert.ok(existsSync(summary.report.html));
});

test('a program that blocks then crashes: report written, its block kept, exit code kept, the error recorded', (t) => {
  const out = tmp(t);
  const r = doctor(['--out', out, '--threshold', '50', '--', process.execPath, fixture('crash.mjs')]);
  assert.equal(r.status, 1);
  const report = readReport(out);
  assert.equal(report.target.code, 1);
  assert.ok(culprit(report, 'spinFor') ?? culprit(report, 'importBatch'), report.culprits.map((c) => c.functionName).join());
  assert.match(report.processes[0]!.error ?? '', /database connection lost/);
  assert.match(r.stdout, /crashed: Error: database connection lost/);
});

test('a program that starts a Node child: both processes and both blocks are in the report', (t) => {
  const out = tmp(t);
  const r = doctor(['--out', out, '--threshold', '50', '--', process.execPath, fixture('parent.mjs')]);
  assert.equal(r.status, 0, r.stderr);
  const report = readReport(out);
  assert.equal(report.processes.length, 2);
  const [parent, child] = report.processes;
  assert.equal(child!.ppid, parent!.pid);
  const stackNames = (pid: number) => report.blocks.filter((b) => b.pid === pid).flatMap((b) => b.stack.map((f) => f.functionName));
  assert.ok(stackNames(parent!.pid).includes('parentWork'));
  assert.ok(stackNames(child!.pid).includes('childWork'));
});

test('Ctrl-C on the doctor goes to the target; the report is still written; exit 128+SIGINT', async (t) => {
  const out = tmp(t);
  const child = spawn(process.execPath, [BIN, 'doctor', '--out', out, '--threshold', '50', '--', process.execPath, fixture('forever.mjs')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Wait (bounded) until the target's watchdog has written its block, then interrupt.
  const data = join(out, 'data');
  let seen = false;
  for (let i = 0; i < 300 && !seen; i++) {
    seen = existsSync(data) && readdirSync(data).some((f) => f.endsWith('.ndjson') && readFileSync(join(data, f), 'utf8').includes('"type":"block"'));
    if (!seen) await delay(50);
  }
  assert.ok(seen, 'the block was recorded');
  child.kill('SIGINT');
  assert.equal(await exited, 130);
  const report = readReport(out);
  assert.equal(report.target.signal, 'SIGINT');
  assert.ok(report.blocks.some((b) => b.stack.some((f) => f.functionName === 'beforeTheSignal')));
  // The agent caught the signal (no handler of the program's), wrote the profile, and re-raised it.
  assert.ok(readdirSync(data).some((f) => f.endsWith('.cpuprofile')), 'the CPU profile was written');
  assert.match(stdout, /killed by SIGINT/);
});

test('--no-profile: no CPU profile is written, blocks are still attributed from the debugger pauses', (t) => {
  const out = tmp(t);
  const r = doctor(['--out', out, '--threshold', '50', '--no-profile', '--', process.execPath, fixture('child.mjs')]);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!readdirSync(join(out, 'data')).some((f) => f.endsWith('.cpuprofile')));
  const report = readReport(out);
  assert.ok(report.blocks.some((b) => b.attribution.startsWith('pause') && b.stack.some((f) => f.functionName === 'childWork')), JSON.stringify(report.blocks));
});

test('GC time: from the CPU profile by default, from a GC observer with --no-profile; a GC-heavy program is gc-pressure', (t) => {
  const out = tmp(t);
  // Threshold 250: a neighbour starving the process must not turn it into event-loop-blocked.
  const r = doctor(['--out', join(out, 'p'), '--threshold', '250', '--', process.execPath, fixture('gc-heavy.mjs')]);
  assert.equal(r.status, 0, r.stderr);
  const profiled = readReport(join(out, 'p'));
  assert.equal(profiled.gc.source, 'profile');
  assert.equal(profiled.gc.count, undefined, 'a profile does not count collections');
  assert.ok(profiled.gc.totalMs > 0.1 * profiled.durationMs, `GC ${profiled.gc.totalMs} of ${profiled.durationMs} ms`);
  assert.ok(Math.abs(profiled.timeline.reduce((a, s) => a + s.gcMs, 0) - profiled.gc.totalMs) < 1, 'the timeline adds up to the total');
  assert.equal(profiled.diagnosis.verdict, 'gc-pressure', profiled.diagnosis.detail);
  const o = doctor(['--out', join(out, 'o'), '--threshold', '250', '--no-profile', '--', process.execPath, fixture('gc-heavy.mjs')]);
  assert.equal(o.status, 0, o.stderr);
  const observed = readReport(join(out, 'o'));
  assert.equal(observed.gc.source, 'observer');
  assert.ok(observed.gc.count! > 0 && observed.gc.totalMs > 0.1 * observed.durationMs, JSON.stringify(observed.gc));
  assert.equal(observed.diagnosis.verdict, 'gc-pressure', observed.diagnosis.detail);
});

test('--max-block: exit 1 when a block is longer, the target\'s code otherwise', (t) => {
  const out = tmp(t);
  const over = doctor(['--out', join(out, 'a'), '--threshold', '50', '--max-block', '100', '--', process.execPath, fixture('child.mjs')]);
  assert.equal(over.status, 1, over.stderr);
  assert.equal(readReport(join(out, 'a')).maxBlockExceeded, true);
  assert.match(over.stdout, /--max-block 100 ms exceeded/);
  const under = doctor(['--out', join(out, 'b'), '--threshold', '50', '--max-block', '60000', '--', process.execPath, fixture('child.mjs')]);
  assert.equal(under.status, 0, under.stderr);
  assert.equal(readReport(join(out, 'b')).maxBlockExceeded, false);
});

test('bad arguments: one line naming the option, exit 2', () => {
  for (const [args, message] of [
    [['--threshold', '5', '--', 'node', 'x.js'], /--threshold must be a number of ms >= 10, got "5"/],
    [['--max-block', 'soon', '--', 'node', 'x.js'], /--max-block must be a number of ms >= 0, got "soon"/],
    [['--bogus', '--', 'node'], /Unknown option '--bogus'/],
    [[], /no command to run/],
  ] as [string[], RegExp][]) {
    const r = doctor(args);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, message);
    assert.match(r.stderr, /loopwise doctor --help/);
  }
  const help = doctor(['--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^loopwise doctor: run a program/);
});

test('a command that cannot start: exit 127 and still a report', (t) => {
  const out = tmp(t);
  const r = doctor(['--out', out, '--', join(out, 'no-such-program')]);
  assert.equal(r.status, 127);
  assert.match(r.stderr, /could not start/);
  assert.ok(existsSync(join(out, 'report.json')));
});
