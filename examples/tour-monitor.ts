/**
 * Tour, part 3: blocking detection (the seed's "blocking detection" row).
 * The monitor names the function that blocks the loop, with file:line and
 * task, while it blocks; then `loopwise doctor` runs a small blocking
 * service and writes its report.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cancellable, moveOnAfter, spawn } from 'loopwise';
import { monitorLoop, type BlockEvent } from 'loopwise/monitor';
import { hashPasswords, renderReport } from './blocking-work.js';

const where = (b: BlockEvent): string => {
  const f = b.stack.find((s) => s.url.startsWith('file:'));
  return f === undefined ? '(no stack)' : `${f.functionName} (${relative(process.cwd(), fileURLToPath(f.url))}:${f.line})`;
};

export async function monitorTour(print: (line: string) => void): Promise<void> {
  print('== 6. Blocking detection: what blocked the loop, named while it blocks ==');
  const seen: BlockEvent[] = [];
  let wake: () => void = () => {};
  const monitor = monitorLoop({
    blockThresholdMs: 100,
    onBlock(b) {
      // Only the two tasks below block on purpose (a busy machine can stall the process too).
      if (b.task === 'nightly-report' || b.task === 'signup') seen.push(b);
      wake();
    },
  });
  // The monitor keeps nothing alive: hold the loop open until the blocks are reported.
  const keep = setInterval(() => {}, 1_000);
  try {
    const waitBlocks = (n: number) =>
      new Promise<void>((resolve) => {
        wake = () => seen.length >= n && resolve();
        wake();
      });
    await monitor.ready; // its watchdog thread is up
    await new Promise((r) => setTimeout(r, 50)); // and the program is past start-up
    // About 300 ms of hashing on this machine, whatever its speed.
    const t = performance.now();
    hashPasswords(1);
    const hashes = Math.max(2, Math.ceil(300 / Math.max(performance.now() - t, 1)));
    // Bounded waits: a block the monitor did not report would print below, not hang the tour.
    let reported = waitBlocks(1);
    await spawn(async () => renderReport(400_000), { name: 'nightly-report' });
    await moveOnAfter(5_000, () => cancellable(reported));
    reported = waitBlocks(2);
    await spawn(async () => hashPasswords(hashes), { name: 'signup' });
    await moveOnAfter(5_000, () => cancellable(reported));
    for (const b of seen) {
      const native = b.afterNativeCall ? ' (stack taken right after the native call returned)' : '';
      print(`monitor: the loop was blocked ${Math.round(b.durationMs)} ms in task "${b.task}" by ${where(b)}${native}`);
    }
    const s = monitor.snapshot();
    print(`snapshot: delay p99 ${s.delay.p99.toFixed(1)} ms, max ${Math.round(s.delay.max)} ms; utilisation ${Math.round(100 * s.utilization)} %; ${s.blockCount} blocks, ${Math.round(s.blockedMs)} ms blocked`);
  } finally {
    clearInterval(keep);
    monitor.stop();
    await monitor.closed;
  }

  print('');
  print('== 7. loopwise doctor: run a service, find what blocks it, write a report ==');
  const out = process.env.LOOPWISE_TOUR_OUT ?? 'loopwise-doctor-tour';
  rmSync(out, { recursive: true, force: true });
  const bin = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));
  const target = fileURLToPath(new URL('./doctor-target.js', import.meta.url));
  print(`$ loopwise doctor --out ${out} -- node ${relative(process.cwd(), target)}`);
  const r = spawnSync(process.execPath, [bin, 'doctor', '--out', out, '--', process.execPath, target], { encoding: 'utf8', timeout: 60_000 });
  for (const line of r.stdout.trimEnd().split('\n')) print(`  ${line}`);
  if (r.status !== 0) print(`  (the doctor exited with ${r.status}: ${r.stderr.trim()})`);
}
