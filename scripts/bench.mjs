#!/usr/bin/env node
// The runner behind `npm run bench` (which builds first). Runs every variant of
// every scenario in build/bench/**/*.bench.js in its own fresh process
// (`--expose-gc`), several runs each, interleaved and rotated so no variant is
// always first or last; collects the `BENCH {json}` line of each process; then
// prints one markdown table per scenario table: the median over runs, the
// min-max spread over runs, and the ratio of medians to each baseline row.
//
// usage: node scripts/bench.mjs [--node <path>] [--quick] [--only <scenario>[,<scenario>...]]
//                               [--runs <n>] [--json <file>] [--list]
//   --node   run the scenarios under another Node binary (the runner itself can be any Node >= 20)
//   --quick  2 runs, 1 warm-up and 3 repetitions per process (a smoke test; figures are rough)
//   --only   only these scenarios (file names without .bench.js: spawn, awaits, map, timeout, semaphore, http, heap)
//   --runs   processes per variant (default 5; a figure is the median over them)
//   --json   also append every raw record (one JSON line per process) to this file
import { execFile, execFileSync } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILD = path.join(ROOT, 'build', 'bench');

function parseArgs(argv) {
  const o = { node: process.execPath, quick: false, only: null, runs: null, json: null, list: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--node') o.node = val();
    else if (a === '--quick') o.quick = true;
    else if (a === '--only') o.only = val().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--runs') o.runs = Number(val());
    else if (a === '--json') o.json = val();
    else if (a === '--list') o.list = true;
    else if (a === '--help' || a === '-h') {
      console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n'));
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (see --help)`);
  }
  if (o.runs === null) o.runs = o.quick ? 2 : 5;
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error('--runs must be an integer >= 1');
  return o;
}

function findScenarios(dir) {
  if (!existsSync(dir)) throw new Error(`${dir} does not exist: run \`npx tsc -p tsconfig.dev.json\` (npm run bench does it)`);
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...findScenarios(p));
    else if (e.name.endsWith('.bench.js')) out.push(p);
  }
  return out.sort();
}

const loadavg = () => os.loadavg()[0];

/** Runs one child; resolves its parsed BENCH record or { error }. */
function runChild(node, args, timeoutMs) {
  return new Promise((resolve) => {
    execFile(node, args, { cwd: ROOT, timeout: timeoutMs, maxBuffer: 64 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      const line = String(stdout).split('\n').reverse().find((l) => l.startsWith('BENCH '));
      if (line !== undefined) {
        try {
          resolve(JSON.parse(line.slice(6)));
          return;
        } catch {}
      }
      const why = err ? (err.killed ? `killed after ${timeoutMs} ms` : err.message.split('\n')[0]) : 'no BENCH line';
      resolve({ error: `${why}${stderr ? ': ' + String(stderr).trim().split('\n').slice(-3).join(' | ') : ''}`.slice(0, 400) });
    });
  });
}

function fmt(x, unit) {
  if (x === undefined || Number.isNaN(x)) return '–';
  if (unit === 'MB') return x.toFixed(2);
  if (unit === '×') return x.toFixed(3);
  const a = Math.abs(x);
  if (a >= 100) return Math.round(x).toString();
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
}
const ratio = (a, b) => (a === undefined || b === undefined || b === 0 ? '–' : `${(a / b).toFixed(a / b >= 10 ? 1 : 2)}×`);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function printTables(meta, results, nodeVersion) {
  // results: Map variant -> array of records
  const values = (row) => {
    const [variant, metric = 'value'] = row.split(':');
    return (results.get(variant) ?? []).filter((r) => r.metrics && typeof r.metrics[metric] === 'number').map((r) => r.metrics[metric]);
  };
  const errors = (row) => (results.get(row.split(':')[0]) ?? []).filter((r) => r.error).length;
  const lines = [];
  for (const t of meta.tables) {
    lines.push('', `### ${meta.name}: ${t.title} — ${nodeVersion}`, '');
    const head = ['variant', `median ${t.unit} (min–max)`, 'runs', ...t.baselines.map((b) => `vs ${b}`)];
    lines.push(`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
    for (const row of t.rows) {
      const v = values(row);
      const m = v.length ? median(v) : undefined;
      const cell = v.length ? `${fmt(m, t.unit)} (${fmt(Math.min(...v), t.unit)}–${fmt(Math.max(...v), t.unit)})` : 'error';
      const e = errors(row);
      const runs = `${v.length}${e ? ` (+${e} failed)` : ''}`;
      const ratios = t.baselines.map((b) => {
        const bv = values(b);
        return ratio(m, bv.length ? median(bv) : undefined);
      });
      lines.push(`| ${row} | ${cell} | ${runs} | ${ratios.join(' | ')} |`);
    }
    if (t.note) lines.push('', t.note);
  }
  const descs = Object.entries(meta.variants).map(([k, v]) => `- \`${k}\`${v.loopwise ? '' : ' (no loopwise in the process)'}: ${v.desc}`);
  lines.push('', '<details><summary>variants</summary>', '', ...descs, '', '</details>');
  console.log(lines.join('\n'));
  for (const [k, rs] of results) for (const r of rs) if (r.error) console.log(`\n> ${k}: ${r.error}`);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  let files = findScenarios(BUILD);
  const nameOf = (f) => path.basename(f, '.bench.js');
  if (o.only) {
    const unknown = o.only.filter((n) => !files.some((f) => nameOf(f) === n));
    if (unknown.length) throw new Error(`no scenario ${unknown.join(', ')}; have ${files.map(nameOf).join(', ')}`);
    files = files.filter((f) => o.only.includes(nameOf(f)));
  }
  const nodeVersion = execFileSync(o.node, ['-p', 'process.version'], { encoding: 'utf8' }).trim();
  const args = process.argv.slice(2).map((a) => (/^[\w./:,=-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  console.log(`# loopwise benchmarks\n`);
  console.log(`- command: \`node scripts/bench.mjs${args ? ' ' + args : ''}\` (after \`npx tsc -p tsconfig.dev.json\`; or \`npm run bench${args ? ' -- ' + args : ''}\`, which builds first)`);
  console.log(`- node: ${nodeVersion} (${o.node}), runner ${process.version}`);
  console.log(`- date: ${new Date().toISOString()}; ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}; loadavg at start ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`- ${o.runs} fresh processes per variant${o.quick ? ' (--quick: 1 warm-up, 3 repetitions per process)' : ''}; a figure is the median over processes of each process's median repetition, with the min–max over processes`);
  const t0 = Date.now();
  for (const file of files) {
    const rel = path.relative(ROOT, file);
    const listed = await runChild(o.node, ['--expose-gc', '--no-warnings', file, '--list'], 60_000);
    if (listed.error) {
      console.log(`\n## ${nameOf(file)}\n\nfailed to list: ${listed.error}`);
      continue;
    }
    const meta = listed;
    if (o.list) {
      console.log(`\n## ${meta.name}: ${Object.keys(meta.variants).join(', ')}`);
      continue;
    }
    const names = Object.keys(meta.variants);
    const results = new Map(names.map((n) => [n, []]));
    const loads = [];
    const ts = Date.now();
    for (let r = 0; r < o.runs; r++) {
      const k = (r * 3) % names.length;
      const order = [...names.slice(k), ...names.slice(0, k)];
      for (const v of order) {
        const load = loadavg();
        loads.push(load);
        const args = ['--expose-gc', '--no-warnings', ...meta.variants[v].flags, file, '--variant', v];
        if (o.quick) args.push('--quick');
        const rec = await runChild(o.node, args, 300_000);
        rec.load = load;
        results.get(v).push(rec);
        if (o.json) appendFileSync(o.json, JSON.stringify({ scenario: meta.name, run: r, variant: v, nodeBin: o.node, nodeVersion, ...rec }) + '\n');
        const shown = rec.error ? `ERROR ${rec.error}` : Object.entries(rec.metrics).map(([m, x]) => `${m}=${fmt(x)}`).join(' ');
        process.stderr.write(`[${meta.name} ${r + 1}/${o.runs}] ${v}: ${shown} (load ${load.toFixed(2)})\n`);
      }
    }
    console.log(`\n## ${meta.title}\n`);
    console.log(`\`${rel}\`; ${((Date.now() - ts) / 1000).toFixed(0)} s; loadavg during the runs ${Math.min(...loads).toFixed(2)}–${Math.max(...loads).toFixed(2)} (median ${median(loads).toFixed(2)})`);
    printTables(meta, results, nodeVersion);
  }
  console.log(`\nTotal ${((Date.now() - t0) / 1000).toFixed(0)} s.`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
