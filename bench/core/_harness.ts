/**
 * The in-process half of the benchmark harness (scripts/bench.mjs is the
 * other half). A scenario file declares variants and the tables they appear
 * in, then calls `runScenario`. Run by the runner as
 *
 *   node --expose-gc build/bench/core/<scenario>.bench.js --list
 *   node --expose-gc build/bench/core/<scenario>.bench.js --variant <name> [--quick]
 *
 * `--list` prints the scenario's shape; `--variant` measures one variant in
 * this (fresh) process and prints one `BENCH {json}` line. One variant per
 * process: an enabled AsyncLocalStorage slows every `await` of the process on
 * Node 20/22, so a baseline must never share a process with loopwise.
 *
 * Timing: gc(), warm-up repetitions, then timed repetitions with
 * process.hrtime.bigint() and gc() before each; the variant's figure is the
 * median of its repetitions. The runner then takes the median (and min-max)
 * of that figure over several processes.
 */

export type OpFn = (n: number) => unknown;

export interface Variant {
  /** Operations per repetition (the figure is ns per operation). */
  n?: number;
  warmup?: number;
  reps?: number;
  /** Called once in the child; returns the function to time (n ops per call). */
  setup?: () => OpFn | Promise<OpFn>;
  /** Instead of setup: measures itself and returns named figures. */
  custom?: (ctx: { quick: boolean }) => Promise<Record<string, number>>;
  /** Extra node flags for this variant's process. */
  flags?: string[];
  /** Does this variant load loopwise? (documentation: baselines must not) */
  loopwise: boolean;
  /** One line saying what is measured. */
  desc: string;
}

export interface Table {
  title: string;
  /** Unit of the figures: 'ns/op' for setup variants; what custom returns otherwise. */
  unit: string;
  /** Rows: a variant name, or `variant:metric` for custom variants (default metric `value`). */
  rows: string[];
  /** A ratio column is printed against each of these rows. */
  baselines: string[];
  note?: string;
}

export interface Scenario {
  name: string;
  title: string;
  variants: Record<string, Variant>;
  tables: Table[];
}

const gc: () => void = (globalThis as { gc?: () => void }).gc ?? (() => {});
const now = (): bigint => process.hrtime.bigint();

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** gc() and let FinalizationRegistry callbacks and immediates run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise<void>((r) => setImmediate(r));
  }
  gc();
}

async function measure(v: Variant, quick: boolean): Promise<{ metrics: Record<string, number>; reps?: number[] }> {
  if (v.custom !== undefined) return { metrics: await v.custom({ quick }) };
  const fn = await v.setup!();
  const n = v.n ?? 1;
  const warmup = quick ? Math.min(v.warmup ?? 2, 1) : (v.warmup ?? 2);
  const reps = quick ? 3 : (v.reps ?? 5);
  for (let i = 0; i < warmup; i++) {
    gc();
    await fn(n);
  }
  const out: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    gc();
    const c0 = process.cpuUsage();
    const t0 = now();
    await fn(n);
    const t1 = now();
    const c = process.cpuUsage(c0);
    out.push(Number(t1 - t0) / n);
    cpu.push(((c.user + c.system) * 1000) / n);
  }
  // `cpu`: the process's CPU time (user + system, every thread: the GC's
  // helper threads too) per op. On a shared, overloaded machine a process
  // waits for a core and the wall-clock figure grows with the load; the CPU
  // time grows much less, so ratios of it are the steadier comparison.
  return { metrics: { value: median(out), cpu: median(cpu) }, reps: out.map((x) => +x.toFixed(2)) };
}

export async function runScenario(s: Scenario): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--list')) {
    const variants: Record<string, { flags: string[]; loopwise: boolean; desc: string; n?: number }> = {};
    for (const [k, v] of Object.entries(s.variants)) variants[k] = { flags: v.flags ?? [], loopwise: v.loopwise, desc: v.desc, n: v.n };
    console.log('BENCH ' + JSON.stringify({ name: s.name, title: s.title, variants, tables: s.tables }));
    return;
  }
  const i = argv.indexOf('--variant');
  if (i < 0) throw new Error(`usage: node ${process.argv[1]} --list | --variant <name> [--quick]`);
  const name = argv[i + 1]!;
  const v = s.variants[name];
  if (v === undefined) throw new Error(`unknown variant ${name}; have ${Object.keys(s.variants).join(', ')}`);
  const quick = argv.includes('--quick');
  const r = await measure(v, quick);
  console.log('BENCH ' + JSON.stringify({ scenario: s.name, variant: name, node: process.version, ...r }));
  // Leave no handles behind (http agents, timers of AbortSignal.timeout).
  process.exit(0);
}
