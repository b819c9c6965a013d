/**
 * The measured process of monitor-awaits.bench: a promise-heavy CPU
 * workload (_awaits-work.ts) under one monitoring set-up (argv[2]). 2 warm-up repetitions
 * (1 with --quick), then 7 timed (3); sends the median wall time and main
 * thread CPU time over IPC.
 */
import { median } from '../core/_harness.js';
import { startMonitoring, type Monitoring } from './_monitoring.js';
import { threadCpuMs } from './_threadcpu.js';
import { rep, turn } from './_awaits-work.js';

const quick = process.argv.includes('--quick');
const running = await startMonitoring(process.argv[2] as Monitoring);
const gc: () => void = (globalThis as { gc?: () => void }).gc ?? (() => {});

const wall: number[] = [];
const cpu: number[] = [];
for (let r = 0; r < (quick ? 1 : 2); r++) await rep();
for (let r = 0; r < (quick ? 3 : 7); r++) {
  gc();
  await turn();
  const c0 = threadCpuMs();
  const t0 = process.hrtime.bigint();
  await rep();
  wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
  cpu.push(threadCpuMs() - c0);
}
const b = running.blocks();
running.stop();
process.send!({ wallMs: median(wall), cpuMs: median(cpu), blocks: b.count, captureMs: b.captureMs });
process.disconnect();
