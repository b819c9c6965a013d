/**
 * A plain worker module for the tour: the seed article's `cpu_heavy`, made
 * cancellable by reading the job's shared-memory signal every 2^20 turns.
 */
import { jobSignal } from 'loopwise/worker';

export function cpuHeavy(n: number): number {
  const signal = jobSignal();
  let result = 0;
  for (let i = 0; i < n; i++) {
    if ((i & 0xfffff) === 0) signal.throwIfAborted();
    result = (result + i) % 1_000_000_007;
  }
  return result;
}

/** Which worker thread ran the call (to show a cancelled job keeps its warm worker). */
export async function whoAmI(): Promise<number> {
  const { threadId } = await import('node:worker_threads');
  return threadId;
}
