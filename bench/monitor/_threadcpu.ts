/**
 * CPU time of the calling thread only (Linux: /proc/thread-self/schedstat,
 * ns on CPU), so a variant's figure leaves out its helper threads (the
 * watchdog, GC and compiler threads) and shows what the main thread itself
 * paid. NaN where /proc is missing.
 */
import { readFileSync } from 'node:fs';

export function threadCpuMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return Number.NaN;
  }
}
