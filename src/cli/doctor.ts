/**
 * `loopwise doctor [options] -- <command…>`: runs a program with the monitor
 * preloaded into every Node process it starts (NODE_OPTIONS `--import`),
 * shows progress while it runs, and on exit — also when the target crashes,
 * is killed, or the doctor gets Ctrl-C (forwarded to the target) — writes
 * report.json and report.html and prints a summary.
 *
 * The agents write into `<out>/data/` (mode 0700; files 0600): the doctor
 * itself reads nothing of the live process, only those files.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { renderReportHtml } from '../report/render-html.js';
import type { DoctorReport } from '../report/types.js';
import { analyze } from './doctor/analyze.js';
import { collect } from './doctor/collect.js';
import { formatSummary, jsonSummary } from './doctor/summary.js';
import type { Io } from './main.js';

export const DOCTOR_HELP = `loopwise doctor: run a program and report what blocks its event loop

Examples:
  loopwise doctor -- node server.js
  loopwise doctor --threshold 50 --out ./diag -- npm start
  loopwise doctor --max-block 200 --json -- node test/load.js   (a CI gate: exit 1 over 200 ms)

Usage:
  loopwise doctor [options] -- <command...>

Options:
  --out DIR          where report.html and report.json go (default: ./loopwise-doctor-<timestamp>/)
  --threshold MS     a block is a stall longer than this (default 100, >= 10)
  --max-block MS     exit 1 when a block (after start-up) is longer than this
  --interval MS      timeline sample interval (default 200, >= 10)
  --no-profile       no CPU profile (a little less overhead; native calls are then
                     attributed from debugger pauses only)
  --json             print the summary as JSON on stdout
  -h, --help         show this help

Every Node process the command starts is monitored (through NODE_OPTIONS).
Exit code: the command's, 128+signal when it was killed, 1 when --max-block was exceeded.
`;

interface DoctorArgs {
  out: string | undefined;
  thresholdMs: number;
  maxBlockMs: number | undefined;
  intervalMs: number;
  json: boolean;
  profile: boolean;
  command: string[];
}

class UsageError extends Error {}

function msOption(name: string, raw: string | undefined, fallback: number | undefined, min: number): number | undefined {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v < min) throw new UsageError(`--${name} must be a number of ms >= ${min}, got ${JSON.stringify(raw)}`);
  return v;
}

function parse(argv: string[]): DoctorArgs | 'help' {
  const cut = argv.indexOf('--');
  const own = cut === -1 ? argv : argv.slice(0, cut);
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: own,
      strict: true,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        threshold: { type: 'string' },
        'max-block': { type: 'string' },
        interval: { type: 'string' },
        json: { type: 'boolean' },
        'no-profile': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return 'help';
  const command = cut === -1 ? positionals : [...positionals, ...argv.slice(cut + 1)];
  if (command.length === 0) throw new UsageError('no command to run: put it after --, as in `loopwise doctor -- node app.js`');
  return {
    out: values.out,
    thresholdMs: msOption('threshold', values.threshold, 100, 10)!,
    maxBlockMs: msOption('max-block', values['max-block'], undefined, 0),
    intervalMs: msOption('interval', values.interval, 200, 10)!,
    json: values.json === true,
    profile: values['no-profile'] !== true,
    command,
  };
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

function toolVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** NODE_OPTIONS with our preload added (a file URL has no spaces to quote). */
function nodeOptions(existing: string | undefined): string {
  const register = new URL('../register/index.js', import.meta.url).href;
  return [existing ?? '', `--import=${register}`].filter((s) => s !== '').join(' ');
}

/** Counts blocks so far from the agents' files (read incrementally). */
class Progress {
  readonly #offsets = new Map<string, number>();
  #blocks = 0;
  constructor(readonly dir: string) {}
  poll(): { processes: number; blocks: number } {
    let files: string[] = [];
    try {
      files = readdirSync(this.dir).filter((f) => f.endsWith('.ndjson'));
    } catch {
      return { processes: 0, blocks: this.#blocks };
    }
    for (const f of files) {
      const path = join(this.dir, f);
      const from = this.#offsets.get(f) ?? 0;
      let size = 0;
      try {
        size = statSync(path).size;
      } catch {
        continue;
      }
      if (size <= from) continue;
      const text = readFileSync(path).subarray(from, size).toString('utf8');
      const end = text.lastIndexOf('\n') + 1;
      this.#offsets.set(f, from + Buffer.byteLength(text.slice(0, end)));
      for (const line of text.slice(0, end).split('\n')) if (line.startsWith('{"type":"block",')) this.#blocks++;
    }
    return { processes: files.length, blocks: this.#blocks };
  }
}

export async function run(argv: string[], io: Io): Promise<number> {
  let args: DoctorArgs | 'help';
  try {
    args = parse(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`loopwise doctor: ${e.message}\nTry 'loopwise doctor --help'.\n`);
    return 2;
  }
  if (args === 'help') {
    io.stdout.write(DOCTOR_HELP);
    return 0;
  }
  const startedAt = new Date();
  const out = resolve(args.out ?? `loopwise-doctor-${timestamp(startedAt)}-${process.pid}`);
  const data = join(out, 'data');
  mkdirSync(data, { recursive: true, mode: 0o700 });
  chmodSync(out, 0o700);
  chmodSync(data, 0o700);

  const t0Ns = process.hrtime.bigint();
  const [cmd, ...rest] = args.command as [string, ...string[]];
  const child = spawn(cmd, rest, {
    stdio: 'inherit',
    env: {
      ...io.env,
      NODE_OPTIONS: nodeOptions(io.env.NODE_OPTIONS),
      LOOPWISE_DOCTOR_DIR: data,
      LOOPWISE_DOCTOR_THRESHOLD_MS: String(args.thresholdMs),
      LOOPWISE_DOCTOR_INTERVAL_MS: String(args.intervalMs),
      LOOPWISE_DOCTOR_PROFILE: args.profile ? '1' : '0',
    },
  });

  const tty = (io.stderr as NodeJS.WriteStream).isTTY === true;
  const progress = new Progress(data);
  let lastPlain = 0;
  const tick = (): void => {
    const { processes, blocks } = progress.poll();
    const s = Math.round(Number(process.hrtime.bigint() - t0Ns) / 1e9);
    const text = `loopwise doctor: ${s} s, ${processes} process${processes === 1 ? '' : 'es'}, ${blocks} block${blocks === 1 ? '' : 's'} so far`;
    if (tty) io.stderr.write(`\r${text}\u001b[K`);
    else if (s - lastPlain >= 5) {
      lastPlain = s;
      io.stderr.write(`${text}\n`);
    }
  };
  const ticker = setInterval(tick, 1_000);

  // Ctrl-C and kill go to the target; the doctor stays to write the report.
  const forward = (sig: NodeJS.Signals) => (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  const onHup = forward('SIGHUP');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  process.on('SIGHUP', onHup);

  let spawnError: Error | null = null;
  const target = await new Promise<{ code: number | null; signal: string | null }>((done) => {
    child.once('error', (e) => {
      spawnError = e;
      done({ code: 127, signal: null });
    });
    child.once('exit', (code, signal) => done({ code, signal }));
  });
  clearInterval(ticker);
  process.off('SIGINT', onInt);
  process.off('SIGTERM', onTerm);
  process.off('SIGHUP', onHup);
  if (tty) io.stderr.write('\r\u001b[K');
  if (spawnError !== null) io.stderr.write(`loopwise doctor: could not start ${JSON.stringify(cmd)}: ${(spawnError as Error).message}\n`);

  const endNs = process.hrtime.bigint();
  const signalNo = target.signal === null ? 0 : (constants.signals as Record<string, number>)[target.signal] ?? 0;
  const targetExitCode = target.signal !== null ? 128 + signalNo : target.code ?? 1;
  const runInfo = {
    command: args.command,
    startedAt,
    t0Ns,
    endNs,
    thresholdMs: args.thresholdMs,
    target,
    toolVersion: toolVersion(),
    targetExitCode,
    ...(args.maxBlockMs === undefined ? {} : { maxBlockMs: args.maxBlockMs }),
  };
  const report: DoctorReport = analyze(collect(data), runInfo);
  const jsonPath = join(out, 'report.json');
  const htmlPath = join(out, 'report.html');
  writeFileSync(jsonPath, JSON.stringify(report, null, 2) + '\n', { mode: 0o600 });
  writeFileSync(htmlPath, renderReportHtml(report), { mode: 0o600 });
  if (args.json) io.stdout.write(JSON.stringify(jsonSummary(report, out)) + '\n');
  else io.stdout.write(formatSummary(report, htmlPath));
  if (!existsSync(data)) io.stderr.write('loopwise doctor: the data folder disappeared during the run\n');
  return report.exitCode;
}
