/**
 * The promise-heavy CPU workload of the monitor's awaits benchmarks: one
 * repetition is 1 000 000 calls of a small async function, each awaited, in
 * chunks of 1 000 with a setImmediate turn between chunks (so timers, the
 * heartbeat among them, run every few ms: nothing blocks).
 */
const N = 1_000_000;
const CHUNK = 1_000;

async function parse(i: number): Promise<number> {
  return (i * 31) ^ (i >>> 3);
}
async function step(i: number): Promise<number> {
  return (await parse(i)) & 0xff;
}

/** One turn of the event loop. */
export const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** One repetition of the workload. */
export async function rep(): Promise<number> {
  let s = 0;
  for (let i = 0; i < N; i += CHUNK) {
    for (let j = i; j < i + CHUNK; j++) s += await step(j);
    await turn();
  }
  return s;
}
