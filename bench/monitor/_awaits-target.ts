/**
 * The measured process of monitor-awaits.bench: a promise-heavy CPU
 * workload under one monitoring set-up (argv[2]). One repetition is
 * 1 000 000 calls of a small async function, each awaited, in chunks of
 * 1 000 with a setImmediate turn between chunks (so timers, the heartbeat
 * among them, run every few ms: nothing blocks). 2 warm-up repetitions
 * (1 with --quick), then 7 timed (3); sends the median wall time and main
 * thread CPU time over IPC.
 */
import { median } from '../core/_harness.js';
import { startMonitoring, type Monitoring } from './_monitoring.js';
import { threadCpuMs } from './_threadcpu.js';

const N = 1_000_000;
const CHUNK = 1_000;
const quick = process.argv.includes('--quick');
const running = await startMonitoring(process.argv[2] as Monitoring);
const gc: () => void = (globalThis as { gc?: () => void }).gc ?? (() => {});

async function parse(i: number): Promise<number> {
  return (i * 31) ^ (i >>> 3);
}
async function step(i: number): Promise<number> {
  return (await parse(i)) & 0xff;
}
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

async function rep(): Promise<number> {
  let s = 0;
  for (let i = 0; i < N; i += CHUNK) {
    for (let j = i; j < i + CHUNK; j++) s += await step(j);
    await turn();
  }
  return s;
}

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
