/**
 * A machine that starves the process is not a block of the program. The
 * fixture's main thread is pinned to one CPU under SCHED_IDLE beside a busy
 * process (taskset and chrt, util-linux), so it gets no CPU for ~800 ms
 * while nothing in it blocks: the monitor must count starved stalls, take
 * no stack and report no block. Then, back at normal priority, a JS spin and
 * a sleeping system call (execFileSync) in the same process are blocks.
 * Linux only (schedstat, sched_setaffinity); needs two CPUs.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const layout = (await import(new URL('../../../dist/monitor/watchdog/layout.js', import.meta.url).href)) as typeof import('../../dist/monitor/watchdog/layout.js');

test('the rules: starved needs waiting on a run queue and little CPU; sleeping or running is a block', () => {
  const { isStarved, isStarvedNow, parseSchedstat, parseStatState } = layout;
  const ms = 1_000_000;
  const r = (atMs: number, cpuMs: number, waitMs: number) => ({ at: BigInt(atMs * ms), cpu: cpuMs * ms, wait: waitMs * ms });
  assert.deepEqual(parseSchedstat('118778955 20393567 39\n', 5n), { at: 5n, cpu: 118778955, wait: 20393567 });
  assert.equal(parseSchedstat('garbage', 5n), null);
  // A comm with spaces and parentheses: the state follows the last ')'.
  assert.equal(parseStatState('4242 (node (x) y) R 1 2 3'), 'R');
  assert.equal(parseStatState('4242 (node) S 1 2 3'), 'S');
  assert.equal(parseStatState(''), null);
  const from = r(0, 1_000, 50);
  const max = 50 * ms; // half a 100 ms threshold
  assert.equal(isStarved(from, r(200, 1_010, 200), max), true, 'waited 150 of 200 ms, ran 10');
  assert.equal(isStarved(from, r(200, 1_060, 150), max), false, 'ran 60 of 200 ms: a block slowed by the machine');
  assert.equal(isStarved(from, r(200, 1_001, 60), max), false, 'neither ran nor waited: asleep in a system call');
  assert.equal(isStarved(from, r(200, 1_190, 50), max), false, 'ran all along: a block');
  assert.equal(isStarved(from, r(1_000, 1_150, 900), max), false, 'ran 150 ms in a 1 s stall: a block, however slowly it ran');
  assert.equal(isStarved(from, from, max), false, 'an empty window');
  // While it waits, the kernel has not added the wait yet: the state decides.
  assert.equal(isStarvedNow(from, r(100, 1_000, 50), 'R', max), true);
  assert.equal(isStarvedNow(from, r(100, 1_000, 50), 'S', max), false, 'asleep: a block');
  assert.equal(isStarvedNow(from, r(100, 1_080, 50), 'R', max), false, 'running: a block');
  assert.equal(isStarvedNow(from, r(1_000, 1_060, 50), 'R', max), false, 'ran 60 ms already: a block');
  assert.equal(isStarvedNow(from, r(100, 1_000, 50), null, max), false, 'no /proc: never starved');
});

const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/monitor/starved.mjs', import.meta.url));
/** The CPUs this process may run on (Linux /proc/self/status), e.g. "0-1" or "2,5-7". */
function allowedCpus(): number[] {
  try {
    const line = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '';
    return line.split(',').flatMap((part) => {
      const [a, b = a] = part.split('-').map(Number);
      return Array.from({ length: b! - a! + 1 }, (_, i) => a! + i);
    });
  } catch {
    return [];
  }
}
const CPUS = process.platform === 'linux' ? allowedCpus() : [];
const skip = process.platform !== 'linux' ? 'Linux only' : CPUS.length < 2 || availableParallelism() < 2 ? 'needs two CPUs' : false;
const [CPU_A, CPU_B] = CPUS.map(String);

interface Totals {
  blockCount: number;
  starved: { count: number; totalMs: number };
}
interface Reply {
  pid?: number;
  totals?: Totals;
  blocks?: { durationMs: number; stack: string[]; skipped?: string }[];
}

function driver(child: { stdin: Writable; stdout: Readable }): { next(): Promise<Reply>; send(cmd: string): Promise<Reply> } {
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Reply> => {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer within 20 s')), 20_000)));
    try {
      const r = await Promise.race([lines.next(), bound]);
      assert.ok(!r.done, 'the fixture ended early');
      return JSON.parse(r.value) as Reply;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    next,
    send: async (cmd) => {
      child.stdin.write(cmd + '\n');
      return next();
    },
  };
}

function run(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${cmd} is missing: install util-linux (apt-get install -y util-linux)`);
    throw e;
  }
}

async function hog(ms: number): Promise<void> {
  const h = spawn('taskset', ['-c', CPU_A!, process.execPath, '-e', `const e = Date.now() + ${ms}; while (Date.now() < e);`], { stdio: 'ignore' });
  const [code] = (await once(h, 'exit')) as [number | null];
  assert.equal(code, 0, 'the busy process ran');
}

for (const mode of ['the watchdog on another CPU', 'the whole process starved'] as const) {
  test(`starvation (${mode}): counted as starved, no block, no stack; real blocks after it still are blocks`, { skip }, async () => {
    const child = spawn(process.execPath, [FIXTURE], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = once(child, 'exit');
    const d = driver(child);
    try {
      const { pid } = await d.next();
      const p = String(pid);
      if (mode === 'the watchdog on another CPU') {
        run('taskset', ['-a', '-p', '-c', CPU_B!, p]); // every thread on the second CPU...
        run('taskset', ['-p', '-c', CPU_A!, p]); // ...but the main thread on the first
        run('chrt', ['--idle', '-p', '0', p]); // main thread only
      } else {
        run('taskset', ['-a', '-p', '-c', CPU_A!, p]);
        run('chrt', ['-a', '--idle', '-p', '0', p]);
      }
      await hog(800);
      const starved = await d.send('totals');
      // Never a capture of the starved thread: no block with a stack. A block
      // without one (skipped: 'missed') can still appear when the watchdog
      // thread was starved too (by the other tests on its CPU, or all of the
      // process in the second mode) and the main thread's own check, against
      // the watchdog's last reading, could not tell.
      const captured = starved.blocks!.filter((b) => b.skipped !== 'missed' || b.stack.length > 0);
      assert.deepEqual(captured, [], 'no stack taken on a starved thread');
      const missed = starved.blocks!.length;
      if (mode === 'the watchdog on another CPU') {
        assert.ok(starved.totals!.starved.count >= 1 && starved.totals!.starved.totalMs >= 200, JSON.stringify(starved.totals));
      } else {
        assert.ok(starved.totals!.starved.count + missed >= 1, JSON.stringify(starved));
      }

      // Back to normal: the same process's own blocks are blocks, with their stacks.
      run('chrt', ['-a', '--other', '-p', '0', p]);
      run('taskset', ['-a', '-p', '-c', CPUS.join(','), p]);
      // ('totals' between them: a block that starts while the watchdog still
      // disconnects from the one before is reported without a stack.)
      await d.send('spin');
      await d.send('totals');
      await d.send('sleep');
      const after = await d.send('totals');
      const stacks = after.blocks!.map((b) => b.stack.join(' < ') || `(no stack: ${b.skipped})`);
      assert.ok(stacks.some((s) => s.includes('spinFor')), `a JS spin is a block: ${stacks.join(' | ')}`);
      assert.ok(stacks.some((s) => s.includes('execFileSync')), `a sleeping system call is a block: ${stacks.join(' | ')}`);
      assert.deepEqual(await d.send('stop'), { stopped: true });
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0, 'the fixture exits once its monitor stopped: nothing left alive');
    } finally {
      if (child.exitCode === null) child.kill();
    }
  });
}
