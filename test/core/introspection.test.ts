/**
 * Introspection: currentTask, currentSignal, allTasks, taskTree and
 * formatTaskTree, with ages from the TestClock and what each node awaits.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  allTasks,
  cancellable,
  checkpoint,
  currentSignal,
  deadline,
  moveOnAfter,
  now,
  currentTask,
  Event,
  formatTaskTree,
  gather,
  group,
  Lock,
  Queue,
  scope,
  Semaphore,
  shield,
  sleep,
  spawn,
  taskTree,
  timeout,
  type Task,
  type TaskTreeNode,
} from 'loopwise';
import { TestClock } from 'loopwise/testing';
import { assertNoTasks } from '../helpers/leaks.js';

type Coded = { code?: string; name?: string; reason?: unknown };

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function install(t: { after(fn: () => void): void }, now = 0): TestClock {
  const clock = TestClock.install({ now });
  t.after(() => clock.uninstall());
  return clock;
}

/** The node of the task named `name` anywhere in the tree. */
function find(name: string, from: TaskTreeNode = taskTree()): TaskTreeNode | undefined {
  if (from.name === name) return from;
  for (const c of from.children) {
    const hit = find(name, c);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

async function stop(...tasks: Task<unknown>[]): Promise<void> {
  for (const t of tasks) t.cancel();
  for (const t of tasks) await t.then(undefined, () => {});
}

// ---------------------------------------------------------------- currentTask / currentSignal

test('currentTask: undefined at the root, the enclosing task anywhere inside it', async () => {
  assert.equal(currentTask(), undefined);
  const seen: Record<string, unknown> = {};
  const outer = spawn(
    async () => {
      seen.body = currentTask();
      await checkpoint();
      seen.afterAwait = currentTask();
      await timeout(1000, async () => {
        seen.inTimeout = currentTask();
      });
      await scope(() => {
        seen.inScope = currentTask();
      });
      await group((g) => {
        seen.groupBody = currentTask();
        g.spawn(
          () => {
            seen.child = currentTask();
          },
          { name: 'child' },
        );
      });
      // Wrapped: a Task is a thenable, and a branch returning its own task would wait for itself.
      const [branch] = await gather([() => ({ task: currentTask() })]);
      seen.branch = branch.task;
    },
    { name: 'outer' },
  );
  await outer;
  for (const k of ['body', 'afterAwait', 'inTimeout', 'inScope', 'groupBody']) assert.equal(seen[k], outer, k);
  assert.equal((seen.child as Task).name, 'child');
  assert.notEqual(seen.branch, outer, 'a gather branch is a task of its own');
  assert.equal(typeof (seen.branch as Task).id, 'number');
  assert.equal(currentTask(), undefined);
  assertNoTasks();
});

test('currentSignal: never aborts at the root; the innermost scope signal inside', async (t) => {
  const clock = install(t);
  const root = currentSignal();
  assert.equal(root.aborted, false);
  assert.equal(currentSignal(), root, 'the root signal is one object');
  const log: string[] = [];
  const task = spawn(async () => {
    assert.equal(currentSignal(), currentTask()!.signal);
    await timeout(100, async (signal) => {
      const inner = currentSignal();
      assert.equal(inner, signal, 'the timeout body signal');
      assert.notEqual(inner, currentTask()!.signal);
      inner.addEventListener('abort', () => {
        const r = inner.reason as Coded;
        log.push(`inner:${r.code}:${(r.reason as Coded).name}`);
      });
      await sleep(1000);
    }).catch((e: Coded) => log.push(e.name ?? '?'));
    log.push(`task signal aborted: ${currentSignal().aborted}`);
  });
  await clock.advance(100);
  await task;
  assert.deepEqual(log, ['inner:LOOPWISE_CANCELLED:TimeoutError', 'TimeoutError', 'task signal aborted: false']);
  assert.equal(root.aborted, false);
  assertNoTasks();
});

test('a cancelled task aborts the signal currentSignal() gave it, with the CancelledError as reason', async () => {
  let signal: AbortSignal | undefined;
  const task = spawn(async () => {
    signal = currentSignal();
    await new Event().wait();
  });
  await turn();
  task.cancel('bye');
  await task.catch(() => {});
  assert.equal(signal?.aborted, true);
  assert.equal((signal?.reason as Coded).code, 'LOOPWISE_CANCELLED');
  assert.equal((signal?.reason as Coded).reason, 'bye');
  assert.equal(currentSignal().aborted, false);
});

// ---------------------------------------------------------------- allTasks

test('allTasks lists every running task, nested and detached, and forgets finished ones', async () => {
  const stopAll = new Event();
  const a = spawn(
    async () => {
      spawn(() => stopAll.wait(), { name: 'detached-in-a' });
      await group((g) => {
        g.spawn(() => stopAll.wait(), { name: 'child-1' });
        g.spawn(() => stopAll.wait(), { name: 'child-2' });
      });
    },
    { name: 'a' },
  );
  const b = spawn(() => stopAll.wait(), { name: 'b' });
  await turn();
  assert.deepEqual(allTasks().map((x) => x.name).sort(), ['a', 'b', 'child-1', 'child-2', 'detached-in-a']);
  assert.ok(allTasks().includes(a) && allTasks().includes(b), 'the Task objects themselves');
  stopAll.set();
  await a;
  await b;
  await turn();
  assert.deepEqual(allTasks(), []);
  assertNoTasks();
});

// ---------------------------------------------------------------- taskTree

test('taskTree: a task node has kind, name, id, state, cancelled, ageMs from the TestClock and what it awaits', async (t) => {
  const clock = install(t, 1000);
  const poller = spawn(() => sleep(30_000), { name: 'poller' });
  await clock.advance(2500);
  const tree = taskTree();
  assert.equal(tree.kind, 'root');
  assert.equal(tree.name, 'root');
  assert.deepEqual(tree.children, [
    {
      kind: 'task',
      name: 'poller',
      id: poller.id,
      state: 'running',
      cancelled: false,
      ageMs: 2500,
      awaiting: ['sleep(30000)'],
      children: [],
    },
  ]);
  await stop(poller);
  assert.deepEqual(taskTree().children, []);
  assert.equal(clock.pendingTimers, 0);
});

test('taskTree shows scopes between tasks: timeout, group, combinators', async (t) => {
  const clock = install(t);
  const parent = spawn(
    () =>
      timeout(5000, () =>
        group((g) => {
          g.spawn(() => sleep(60_000), { name: 'worker' });
          return gather([() => sleep(60_000)]);
        }),
      ),
    { name: 'parent' },
  );
  await clock.advance(100);
  const p = find('parent')!;
  assert.equal(p.kind, 'task');
  assert.equal(p.children.length, 1);
  const to = p.children[0]!;
  assert.deepEqual([to.kind, to.name, to.state, to.ageMs], ['timeout', 'timeout(5000)', 'running', 100]);
  const grp = to.children[0]!;
  assert.equal(grp.kind, 'group');
  const kinds = grp.children.map((c) => `${c.kind}:${c.kind === 'task' ? c.name : c.children.length}`).sort();
  assert.deepEqual(kinds, ['gather:1', 'task:worker']);
  const gatherNode = grp.children.find((c) => c.kind === 'gather')!;
  assert.equal(gatherNode.children[0]!.kind, 'task');
  assert.deepEqual(gatherNode.children[0]!.awaiting, ['sleep(60000)']);
  assert.deepEqual(taskTree(parent).name, 'parent', 'taskTree(task) starts at that task');
  const labels = spawn(
    () =>
      moveOnAfter(250, () =>
        deadline(now() + 5000, () =>
          scope(() => sleep(60_000)),
        ),
      ),
    { name: 'labels' },
  );
  await clock.advance(0);
  const mv = find('labels')!.children[0]!;
  assert.deepEqual([mv.kind, mv.name], ['moveOnAfter', 'moveOnAfter(250)']);
  const dl = mv.children[0]!;
  assert.deepEqual([dl.kind, dl.name], ['deadline', 'deadline(5100)']);
  assert.deepEqual([dl.children[0]!.kind, dl.children[0]!.name, dl.children[0]!.awaiting], ['scope', 'scope', ['sleep(60000)']]);
  await stop(labels);
  await stop(parent);
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});

test('taskTree names what each task awaits', async (t) => {
  const clock = install(t);
  const lock = new Lock();
  const sem = new Semaphore(1);
  const ev = new Event();
  const empty = new Queue<number>();
  const full = new Queue<number>({ maxsize: 1 });
  full.tryPut(0);
  const heldLock = await lock.acquire();
  const heldSem = await sem.acquire();
  const target = spawn(() => ev.wait(), { name: 'target' });
  const tasks = [
    target,
    spawn(() => sleep(30_000), { name: 'w-sleep' }),
    spawn(() => lock.acquire(), { name: 'w-lock' }),
    spawn(() => sem.acquire(), { name: 'w-sem' }),
    spawn(() => empty.get(), { name: 'w-get' }),
    spawn(() => full.put(1), { name: 'w-put' }),
    spawn(() => cancellable(new Promise<never>(() => {})), { name: 'w-cancellable' }),
    spawn(async () => {
      await target;
    }, { name: 'w-task' }),
    spawn(async () => {
      for (;;) await checkpoint();
    }, { name: 'w-checkpoint' }),
  ];
  const unnamed = spawn(() => sleep(10_000));
  const joinsUnnamed = spawn(async () => {
    await unnamed;
  }, { name: 'w-unnamed' });
  const expected: Record<string, string[]> = {
    target: ['Event.wait'],
    'w-sleep': ['sleep(30000)'],
    'w-lock': ['Lock.acquire'],
    'w-sem': ['Semaphore.acquire'],
    'w-get': ['Queue.get'],
    'w-put': ['Queue.put'],
    'w-cancellable': ['cancellable'],
    'w-task': ['target'],
    'w-unnamed': [`Task-${unnamed.id}`],
  };
  try {
    // `await task` calls then() one microtask later; a turn lets every task reach its wait.
    // The checkpoint loop is back in a fresh checkpoint by then (its immediate ran before ours).
    await turn();
    for (const [name, awaiting] of Object.entries(expected)) assert.deepEqual(find(name)?.awaiting, awaiting, name);
    assert.deepEqual(find('w-checkpoint')?.awaiting, ['checkpoint']);
    assert.equal(unnamed.name, `Task-${unnamed.id}`);
  } finally {
    await stop(...tasks, unnamed, joinsUnnamed);
  }
  heldLock[Symbol.dispose]();
  heldSem[Symbol.dispose]();
  assert.equal(lock.locked, false);
  assert.equal(sem.available, 1);
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});

test("taskTree: a cancelled task still cleaning up is 'cancelling'; it disappears once it ends", async (t) => {
  const clock = install(t);
  const slow = spawn(
    async () => {
      try {
        await sleep(60_000);
      } finally {
        await shield(() => sleep(500));
      }
    },
    { name: 'slow' },
  );
  await clock.advance(10);
  assert.deepEqual([find('slow')!.state, find('slow')!.cancelled], ['running', false]);
  slow.cancel();
  await turn();
  const n = find('slow')!;
  assert.equal(n.state, 'cancelling');
  assert.equal(n.cancelled, true);
  assert.equal(n.children.length, 1);
  const sh = n.children[0]!;
  assert.equal(sh.kind, 'shield');
  assert.equal(sh.cancelled, false, 'the shield keeps the cancellation out');
  assert.deepEqual(sh.awaiting, ['sleep(500)']);
  await clock.advance(500);
  await slow.catch(() => {});
  assert.equal(slow.state, 'cancelled');
  assert.equal(find('slow'), undefined);
  assertNoTasks();
});

test("taskTree: a cancelled scope that is not yet closed reads 'cancelling'", async (t) => {
  const clock = install(t);
  let snapshot: TaskTreeNode | undefined;
  const task = spawn(
    () =>
      scope(async (s) => {
        s.cancel();
        await shield(async () => {
          snapshot = find('holder');
        });
      }),
    { name: 'holder' },
  );
  await task;
  const sc = snapshot!.children[0]!;
  assert.equal(sc.kind, 'scope');
  assert.equal(sc.state, 'cancelling');
  assert.equal(sc.cancelled, true);
  assert.equal(snapshot!.state, 'running', 'the cancellation of an inner scope does not reach the task');
  assert.equal(snapshot!.cancelled, false);
  assert.equal(clock.pendingTimers, 0);
  assertNoTasks();
});

// ---------------------------------------------------------------- formatTaskTree

test('formatTaskTree draws a pstree-like tree with names, ids, states, ages and waits', async (t) => {
  const clock = install(t);
  const a = spawn(
    () =>
      group((g) => {
        g.spawn(() => sleep(30_000), { name: 'child-1' });
        g.spawn(() => sleep(40_000), { name: 'child-2' });
      }),
    { name: 'alpha' },
  );
  const b = spawn(() => sleep(5000), { name: 'beta' });
  await clock.advance(2500);
  const text = formatTaskTree();
  assert.equal(text, formatTaskTree(taskTree()), 'the default is the live tree');
  const lines = text.split('\n');
  assert.equal(lines[0], 'root');
  assert.equal(lines.length, 6, text);
  assert.match(lines[1]!, new RegExp(`^├─ alpha #${a.id} running 2\\.5s$`));
  assert.match(lines[2]!, /^│  └─ group running 2\.5s$/);
  assert.match(lines[3]!, /^│     ├─ child-1 #\d+ running 2\.5s awaiting sleep\(30000\)$/);
  assert.match(lines[4]!, /^│     └─ child-2 #\d+ running 2\.5s awaiting sleep\(40000\)$/);
  assert.match(lines[5]!, new RegExp(`^└─ beta #${b.id} running 2\\.5s awaiting sleep\\(5000\\)$`));
  b.cancel();
  await turn();
  assert.match(formatTaskTree(), /alpha/);
  await stop(a, b);
  assert.equal(formatTaskTree(), 'root');
  assertNoTasks();
});

test('formatTaskTree renders a subtree it is given', async (t) => {
  const clock = install(t);
  const a = spawn(() => gather([() => sleep(100)]), { name: 'only-me' });
  const other = spawn(() => sleep(100), { name: 'not-me' });
  await clock.advance(1);
  const text = formatTaskTree(taskTree(a));
  assert.doesNotMatch(text, /not-me|root/);
  assert.match(text.split('\n')[0]!, /^only-me #\d+ running/);
  assert.equal(text.split('\n').length, 3, text);
  await stop(a, other);
  assertNoTasks();
});

test('formatTaskTree escapes control characters in names instead of printing them', async (t) => {
  const clock = install(t);
  const evil = 'evil\nname\r\x1b[31mred\x07\x7f';
  const task = spawn(() => sleep(100), { name: evil });
  await clock.advance(1);
  assert.equal(find(evil)?.name, evil, 'taskTree keeps the real name');
  const text = formatTaskTree();
  const lines = text.split('\n');
  assert.equal(lines.length, 2, `one line per node: ${JSON.stringify(text)}`);
  assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f]/, 'no raw control character');
  assert.match(lines[1]!, /evil\\x0aname\\x0d\\x1b\[31mred\\x07\\x7f #\d+ running/);
  await stop(task);
  assertNoTasks();
});

test('formatTaskTree escapes C1 control characters (U+0080-U+009F) too', async (t) => {
  const clock = install(t);
  // U+009B is the one-byte CSI: terminals honouring C1 controls read it as ESC [.
  const name = 'c1\u009b31m\u0085next';
  const task = spawn(() => sleep(100), { name });
  await clock.advance(1);
  const text = formatTaskTree();
  try {
    const shown = JSON.stringify(text).replace(/[\u0080-\u009f]/g, (c) => `<U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}>`);
    assert.ok(!/[\u0080-\u009f]/.test(text), `raw C1 control character printed: ${shown}`);
  } finally {
    await stop(task);
  }
  assertNoTasks();
});

test('formatTaskTree ages never show an out-of-range seconds field', () => {
  const at = (ageMs: number): string =>
    formatTaskTree({ kind: 'task', name: 'n', id: 1, state: 'running', cancelled: false, ageMs, awaiting: [], children: [] });
  assert.match(at(2500), /running 2\.5s$/);
  for (const ms of [119_600, 179_999, 60_000 * 5 + 59_500]) {
    assert.doesNotMatch(at(ms), /m60s/, `${ms} ms rendered as ${at(ms)}`);
  }
});
