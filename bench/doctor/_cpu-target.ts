/**
 * The CPU-bound target of bench/doctor/overhead.bench.ts: 1 000 chunks of ~2 ms (~2 s)
 * of work (sorting, string building, JSON, a Map), one turn of the loop
 * between chunks, as a busy service would. Writes its own wall time (ms, from
 * the first chunk to the last) to $LW_BENCH_OUT, so the figure is the
 * target's, not the tool's start-up or report.
 */
import { writeFileSync } from 'node:fs';
import { cpuNow, cpuSince } from './_cpu.js';

function chunk(seed: number): number {
  const xs = Array.from({ length: 6_000 }, (_, i) => ((i * 2654435761 + seed) >>> 0) % 100_000);
  xs.sort((a, b) => a - b);
  const m = new Map<number, string>();
  for (let i = 0; i < 1_000; i++) m.set(xs[i]!, `v${xs[i]}`);
  return JSON.parse(JSON.stringify([...m.values()])).length + xs[0]!;
}

const t0 = performance.now();
const c0 = cpuNow();
let acc = 0;
for (let i = 0; i < Number(process.env.LW_BENCH_CHUNKS ?? 1_000); i++) {
  acc += chunk(i);
  await new Promise<void>((r) => setImmediate(r));
}
const ms = performance.now() - t0;
if (process.env.LW_BENCH_OUT) writeFileSync(process.env.LW_BENCH_OUT, JSON.stringify({ ms, acc, ...cpuSince(c0) }));

