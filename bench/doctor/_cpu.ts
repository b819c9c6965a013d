/**
 * CPU readings of the doctor bench's targets, from the first chunk to the
 * last: the main thread's (Linux schedstat, what the program's own thread
 * paid) and the whole process's (every thread: the watchdog, V8's profiler
 * thread, GC helpers).
 */
import { threadCpuMs } from '../monitor/_threadcpu.js';

export interface CpuMark {
  main: number;
  procUs: number;
}

export function cpuNow(): CpuMark {
  const u = process.cpuUsage();
  return { main: threadCpuMs(), procUs: u.user + u.system };
}

export function cpuSince(c0: CpuMark): { mainCpuMs: number; procCpuMs: number } {
  const c = cpuNow();
  return { mainCpuMs: c.main - c0.main, procCpuMs: (c.procUs - c0.procUs) / 1e3 };
}
