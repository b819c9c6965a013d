/**
 * Runs the demo (`npm run demo`) as a child process, as a user would, and
 * checks that it shows what the README says it shows and that the process
 * exits by itself with code 0 (no handle left open: the HTTP server, the
 * keep-alive agent and every loopwise timer are gone). Timings in its output
 * are not asserted: they are wall-clock.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const tour = fileURLToPath(new URL('../../examples/tour.js', import.meta.url));
const tourOut = mkdtempSync(join(tmpdir(), 'loopwise-tour-'));
after(() => rmSync(tourOut, { recursive: true, force: true }));

function runTour(env: NodeJS.ProcessEnv): { stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [tour], { encoding: 'utf8', timeout: 60_000, env });
  assert.equal(r.error, undefined, `could not run the tour: ${String(r.error)}`);
  assert.equal(r.signal, null, `the tour did not exit by itself within 60 s (killed by ${r.signal})\n${r.stdout}`);
  assert.equal(r.status, 0, `the tour exited with ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

function baseEnv(): NodeJS.ProcessEnv {
  // A smaller CPU job keeps the test quick; the output is the same.
  const env: NodeJS.ProcessEnv = { ...process.env, LOOPWISE_TOUR_CPU_N: '20000000', LOOPWISE_TOUR_OUT: tourOut };
  delete env.LOOPWISE_DEBUG;
  return env;
}

test('the tour runs every step, prints what it shows, and exits 0 by itself', () => {
  const { stdout, stderr } = runTour(baseEnv());
  const expected: [string, RegExp][] = [
    ['step 1: timeout() ends the slow operation with a TimeoutError', /caught TimeoutError \(LOOPWISE_TIMEOUT\): "timed out after 200 ms"/],
    ['step 1: the finally block of the timed-out operation ran', /finally: slowOperation under timeout\(200\) cleaned up/],
    ['step 1: task.cancel() ends the task with CancelledError', /caught CancelledError \(LOOPWISE_CANCELLED\): cancelled: no longer needed; task\.state = cancelled/],
    ['step 1: the finally block of the cancelled task ran', /finally: task "slow-operation" cleaned up/],
    ['step 1: no 30 s timer left behind', /the 30 s timers are gone: 0 Node timers alive/],
    ['step 2: 100 concurrent requests with map', /map\(100 ids, fetchItem\): 100 responses in \d+ ms/],
    ['step 2: 100 concurrent requests with gather', /gather\(100 thunks\): +100 responses in \d+ ms/],
    ['step 2: 10 sequential requests', /sequential, 10 requests: 10 responses in \d+ ms/],
    ['step 2: a timeout reaches the socket', /the server saw the client hang up: 1 aborted request/],
    ['step 3: the group rejects with the failing child\'s error', /group rejected after \d+ ms with Error: orders service returned 503/],
    ['step 3: a sibling saw CancelledError', /poller: CancelledError after \d+ polls/],
    ['step 3: a sibling\'s finally block ran', /profile: finally ran/],
    ['step 3: the cancelled sibling never finished', /^(?![\s\S]*profile: finished)/],
    ['step 3: final states of the children', /children: profile=cancelled, orders=rejected, poller=cancelled/],
    ['step 4: a tree line for a task waiting on sleep', /poller #\d+ running \S+ awaiting sleep\(30000\)/],
    ['step 4: a task waiting on a Lock', /lock-waiter #\d+ running \S+ awaiting Lock\.acquire/],
    ['step 4: a task waiting on an Event', /ready-waiter #\d+ running \S+ awaiting Event\.wait/],
    ['step 4: a task waiting on a Queue', /consumer #\d+ running \S+ awaiting Queue\.get/],
    ['step 4: a task waiting on another task', /supervisor #\d+ running \S+ awaiting poller/],
    ['step 4: a timeout scope in the tree', /timeout\(5000\) running \S+ awaiting sleep\(10000\)/],
    ['step 4: everything stopped after the scope was cancelled', /tasks still running: tour \(the tour itself\)/],
    ['step 5: the main thread blocks the loop', /main thread: 2 x cpuHeavy\(2\.0e\+7\) took \d+ ms; the event loop was blocked for \d+ ms at a stretch/],
    ['step 5: the pool runs both in parallel while timers tick', /WorkerPool: +2 x cpuHeavy in parallel took \d+ ms; worst loop gap \d+ ms \([1-9]\d* ticks/],
    ['step 5: a timeout cancels a running job cooperatively', /cancelled mid-way: TimeoutError \(LOOPWISE_TIMEOUT\) after \d+ ms; the job saw jobSignal\(\) and stopped/],
    ['step 5: the pool kept working, nothing failed', /stats: 6 completed, 1 cancelled, 0 failed/],
    ['step 6: the monitor names the JS loop, its file:line and task', /monitor: the loop was blocked \d+ ms in task "nightly-report" by renderReport \(build\/examples\/blocking-work\.js:\d+\)/],
    ['step 6: the monitor names the synchronous hash and its task', /monitor: the loop was blocked \d+ ms in task "signup" by hashPasswords \(build\/examples\/blocking-work\.js:\d+\)/],
    ['step 6: the snapshot counts both blocks', /snapshot: delay p99 [\d.]+ ms, max \d+ ms; utilisation \d+ %; [2-9] blocks/],
    ['step 7: the doctor\'s verdict', /loopwise doctor: event-loop-blocked — The event loop was blocked/],
    ['step 7: the doctor names renderReport with file:line', /\d\. renderReport  build\/examples\/blocking-work\.js:\d+/],
    ['step 7: the doctor names hashPasswords and says what to do', /hashPasswords[\s\S]*use crypto\.pbkdf2 \(async\)/],
    ['step 7: the path of the report', /report: \S+report\.html \(and report\.json\)/],
  ];
  for (const [what, re] of expected) assert.match(stdout, re, what);
  assert.ok(existsSync(join(tourOut, 'report.html')) && existsSync(join(tourOut, 'report.json')), 'the doctor wrote its report');
  assert.equal(stderr, '', 'the tour writes nothing to stderr (no warning, no error)');
});

test('in debug mode no task of the tour ignores its cancellation', () => {
  // LOOPWISE_CANCEL_IGNORED would name a task still running 1 s after it was
  // cancelled: every cancellation in the tour must land at once.
  const { stderr } = runTour({ ...baseEnv(), LOOPWISE_DEBUG: '1' });
  assert.doesNotMatch(stderr, /LOOPWISE_CANCEL_IGNORED/);
  // The monitor step blocks the loop on purpose: debug mode warns about those blocks, and only those.
  const other = stderr.split('\n').filter((l) => l !== '' && !/LOOPWISE_LOOP_BLOCKED|^\s+at |^\(Use `node --trace-warnings/.test(l));
  assert.deepEqual(other, []);
  assert.match(stderr, /\[LOOPWISE_LOOP_BLOCKED\] LoopwiseWarning: the event loop was blocked for \d+ ms in task "nightly-report" at renderReport/);
});
