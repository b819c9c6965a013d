/**
 * Before/after comparison of two builds of loopwise on one scenario: fresh
 * processes, interleaved round by round so that both builds see the same
 * load. Variants prefixed `+` load loopwise and run once per build per round;
 * the others (baselines without loopwise) run once per round. Prints the
 * median (min-max) over rounds of each process's median repetition, wall
 * time and process CPU time per op.
 *
 *   node build/bench/core/_ab.js --base <dir> [--node <path>] [--runs 5] <scenario> <variant|+variant>...
 *
 * `<dir>` is another checkout with `dist/` built and this tree's
 * `build/bench/core/*.js` copied into its `build/bench/core/` (the
 * measurement code must be the same on both sides; only dist/ differs).
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const args = process.argv.slice(2);
let node = process.execPath;
let runs = 5;
let base = '';
const rest: string[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === '--node') node = args[++i]!;
  else if (a === '--runs') runs = Number(args[++i]);
  else if (a === '--base') base = path.resolve(args[++i]!);
  else rest.push(a);
}
const [scenario, ...variants] = rest;
if (base === '' || scenario === undefined || variants.length === 0) {
  console.error('usage: node build/bench/core/_ab.js --base <dir> [--node <path>] [--runs 5] <scenario> <variant|+variant>...');
  process.exit(2);
}
const dirs: Record<string, string> = { before: base, after: here };
const res = new Map<string, { value: number[]; cpu: number[] }>();
const loads: number[] = [];
for (let i = 0; i < runs; i++) {
  for (const v0 of variants) {
    const lw = v0.startsWith('+');
    const v = lw ? v0.slice(1) : v0;
    const sides = lw ? (i % 2 === 0 ? ['before', 'after'] : ['after', 'before']) : ['after'];
    for (const side of sides) {
      loads.push(os.loadavg()[0]!);
      const out = execFileSync(node, ['--expose-gc', '--no-warnings', `build/bench/core/${scenario}.bench.js`, '--variant', v], {
        cwd: dirs[side],
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      });
      const line = out.split('\n').find((l) => l.startsWith('BENCH '));
      if (line === undefined) throw new Error(`no BENCH line from ${v} (${side})`);
      const r = JSON.parse(line.slice(6)) as { metrics: { value: number; cpu: number } };
      const key = lw ? `${v} (${side})` : v;
      let e = res.get(key);
      if (e === undefined) res.set(key, (e = { value: [], cpu: [] }));
      e.value.push(r.metrics.value);
      e.cpu.push(r.metrics.cpu);
    }
  }
}
const med = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const f = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const cell = (xs: number[]): string => `${f(med(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;
console.log(`${execFileSync(node, ['-v'], { encoding: 'utf8' }).trim()}; ${runs} processes per row; loadavg ${f(Math.min(...loads))}–${f(Math.max(...loads))} (median ${f(med(loads))})\n`);
console.log('| variant | wall ns/op | CPU ns/op |\n|---|---:|---:|');
for (const [k, e] of res) console.log(`| ${k} | ${cell(e.value)} | ${cell(e.cpu)} |`);
