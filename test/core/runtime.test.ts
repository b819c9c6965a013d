import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import * as mine from 'loopwise';
import { assertNoTasks } from '../helpers/leaks.js';

const dist = new URL('../../../dist/', import.meta.url);

/** Loads a second, separate copy of the built package (as a duplicate in node_modules would be). */
async function loadCopy(t: { after(fn: () => void): void }): Promise<typeof mine> {
  const dir = mkdtempSync(join(tmpdir(), 'loopwise-copy-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(dist, join(dir, 'dist'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'loopwise-copy', type: 'module' }));
  return (await import(pathToFileURL(join(dir, 'dist', 'index.js')).href)) as typeof mine;
}

test('two copies of loopwise share one runtime record: one task tree, one clock', async (t) => {
  const other = await loadCopy(t);
  assert.notEqual(other.spawn, mine.spawn, 'a separate copy of the module');
  const key = Symbol.for('loopwise.runtime.2');
  assert.ok((globalThis as Record<symbol, unknown>)[key], 'the runtime record lives under the versioned global symbol');

  const log: string[] = [];
  await mine.group(async (g) => {
    // A task of the other copy spawned inside this copy's group is part of the same tree...
    const foreign = other.spawn(async () => {
      try {
        await other.sleep(60_000);
      } catch (e) {
        log.push(`foreign:${(e as { code: string }).code}`);
        throw e;
      }
    }, { name: 'foreign' });
    g.spawn(async () => {
      await mine.checkpoint();
      assert.deepEqual(mine.allTasks().map((x) => x.name).sort(), ['Task-' + (foreign.id + 1), 'foreign'].sort());
      assert.equal(other.allTasks().length, 2, 'the other copy sees the same tasks');
      // ...so cancelling from this copy reaches it, and its error matches by code.
      g.signal.addEventListener('abort', () => log.push('group-aborted'));
      throw new Error('stop');
    });
    await mine.sleep(60_000).catch((e: { code: string }) => log.push(`body:${e.code}`));
    await foreign.catch((e: { code: string }) => log.push(`join:${e.code}`));
  }).catch((e: Error) => log.push(`group:${e.message}`));
  assert.deepEqual(log, ['group-aborted', 'body:LOOPWISE_CANCELLED', 'foreign:LOOPWISE_CANCELLED', 'join:LOOPWISE_CANCELLED', 'group:stop']);
  assertNoTasks();
});

test('a TestClock installed through one copy drives the timers of the other', async (t) => {
  const other = await loadCopy(t);
  const { TestClock } = await import('loopwise/testing');
  const clock = TestClock.install({ now: 1000 });
  t.after(() => clock.uninstall());
  assert.equal(other.now(), 1000);
  const p = other.timeout(30_000, () => other.sleep(60_000)).catch((e: { code: string; ms: number }) => `${e.code}:${e.ms}`);
  await clock.advance(30_000);
  assert.equal(await p, 'LOOPWISE_TIMEOUT:30000');
  assert.equal(clock.pendingTimers, 0);
});
