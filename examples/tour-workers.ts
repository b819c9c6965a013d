/**
 * Tour, part 2: CPU-bound work (the seed's "CPU-bound work" row). The same
 * function blocks the loop on the main thread, runs in parallel through a
 * WorkerPool while the loop stays responsive, and is cancelled mid-way by a
 * timeout, cooperatively, keeping its warm worker.
 */
import { performance } from 'node:perf_hooks';
import { gather, timeout } from 'loopwise';
import { WorkerPool } from 'loopwise/workers';
import { cpuHeavy } from './cpu-work.js';

/** Counts how long the loop went without running a 5 ms interval (its worst gap). */
function loopWatch(): { stop(): { worstGapMs: number; ticks: number } } {
  let last = performance.now();
  let worst = 0;
  let ticks = 0;
  const iv = setInterval(() => {
    const t = performance.now();
    worst = Math.max(worst, t - last);
    last = t;
    ticks++;
  }, 5);
  return {
    stop() {
      clearInterval(iv);
      worst = Math.max(worst, performance.now() - last);
      return { worstGapMs: worst, ticks };
    },
  };
}

export async function workersTour(print: (line: string) => void, n = 150_000_000): Promise<void> {
  print('== 5. CPU-bound work: the main thread vs a WorkerPool ==');

  let watch = loopWatch();
  let t0 = performance.now();
  // Same as the seed's `await Promise.all([cpuHeavy(), cpuHeavy()])`: both run back to back, the loop is frozen.
  await Promise.all([Promise.resolve().then(() => cpuHeavy(n)), Promise.resolve().then(() => cpuHeavy(n))]);
  let loop = watch.stop();
  print(`main thread: 2 x cpuHeavy(${n.toExponential(1)}) took ${Math.round(performance.now() - t0)} ms; the event loop was blocked for ${Math.round(loop.worstGapMs)} ms at a stretch`);

  await using pool = new WorkerPool(new URL('./cpu-work.js', import.meta.url), { threads: 2, name: 'tour-cpu' });
  const cpu = pool.proxy<typeof import('./cpu-work.js')>();
  await gather([() => cpu.whoAmI(), () => cpu.whoAmI()]); // warm: both threads up

  watch = loopWatch();
  t0 = performance.now();
  await gather([() => cpu.cpuHeavy(n), () => cpu.cpuHeavy(n)]);
  loop = watch.stop();
  print(`WorkerPool:  2 x cpuHeavy in parallel took ${Math.round(performance.now() - t0)} ms; worst loop gap ${Math.round(loop.worstGapMs)} ms (${loop.ticks} ticks of a 5 ms timer ran meanwhile)`);

  const before = await cpu.whoAmI();
  t0 = performance.now();
  try {
    await timeout(100, () => cpu.cpuHeavy(n * 20));
  } catch (e) {
    const err = e as Error & { code: string };
    print(`cancelled mid-way: ${err.name} (${err.code}) after ${Math.round(performance.now() - t0)} ms; the job saw jobSignal() and stopped`);
  }
  const after = await cpu.whoAmI();
  const s = pool.stats();
  print(`the next call ran on ${after === before ? 'the same warm worker' : 'a worker'} (thread ${after}); stats: ${s.completed} completed, ${s.cancelled} cancelled, ${s.failed} failed`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await workersTour((l) => console.log(l));
}
