/**
 * The agent `loopwise doctor` preloads into each Node process of its target.
 * Writes, in the doctor's folder (created by the doctor, mode 0700):
 * - `<pid>.ndjson`: a `hello` line (pid, ppid, argv, the hrtime/epoch pair
 *   that ties this process's clock to the others'), then the monitor's
 *   timeline samples, block starts and blocks (written by the watchdog
 *   thread), and an `exit` line;
 * - `<pid>.cpuprofile`: a V8 CPU profile of the whole run (10 ms interval),
 *   written at exit, from which the doctor attributes native time (JSON.parse,
 *   pbkdf2Sync) that a debugger pause cannot interrupt.
 *
 * A process killed by a signal it does not handle still gets its profile:
 * the agent catches SIGINT/SIGTERM/SIGHUP only while no listener of the
 * program's own is there, writes, then re-raises the signal so the process
 * dies of it as it would have.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { startMonitor } from '../monitor/monitor-loop.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export function startDoctorAgent(dir: string, thresholdMs: number, timelineMs: number, profile = true): void {
  const pid = process.pid;
  const ndjson = join(dir, `${pid}.ndjson`);
  const line = (record: object): void => {
    try {
      appendFileSync(ndjson, JSON.stringify(record) + '\n', { mode: 0o600 });
    } catch {
      // The doctor's folder is gone: nothing to report to.
    }
  };
  line({
    type: 'hello',
    pid,
    ppid: process.ppid,
    argv: [process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    hr: String(process.hrtime.bigint()),
    epoch: performance.timeOrigin + performance.now(),
    node: process.version,
    thresholdMs,
  });

  let profiler: Session | null = profile ? new Session() : null;
  try {
    profiler?.connect();
    profiler?.post('Profiler.enable');
    profiler?.post('Profiler.setSamplingInterval', { interval: 10_000 });
    profiler?.post('Profiler.start');
  } catch {
    profiler = null; // no inspector in this build of Node: blocks keep their pause stacks
  }

  // GC time comes from the profile; without one, the monitor times each collection.
  const monitor = startMonitor({ blockThresholdMs: thresholdMs, maxBlocks: 0, gc: profiler === null }, { reportFile: ndjson, timelineMs });

  let lastError: string | undefined;
  process.on('uncaughtExceptionMonitor', (err) => {
    lastError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  });

  let done = false;
  const finish = (exit: { code: number | null; signal: string | null }): void => {
    if (done) return;
    done = true;
    monitor.stop();
    if (profiler !== null) {
      // A same-thread session answers synchronously, so this works in 'exit'.
      profiler.post('Profiler.stop', (err, res) => {
        if (err === null && res?.profile !== undefined) {
          try {
            writeFileSync(join(dir, `${pid}.cpuprofile`), JSON.stringify(res.profile), { mode: 0o600 });
          } catch {
            // see line()
          }
        }
      });
      profiler.disconnect();
    }
    line({ type: 'exit', hr: String(process.hrtime.bigint()), ...exit, ...(lastError === undefined ? {} : { error: lastError }) });
  };
  process.on('exit', (code) => finish({ code, signal: null }));
  for (const sig of SIGNALS) {
    const onSignal = (): void => {
      // Someone else handles it: they decide whether the process ends ('exit' then writes).
      if (process.listenerCount(sig) > 1) return;
      finish({ code: null, signal: sig });
      process.off(sig, onSignal);
      process.kill(pid, sig);
    };
    process.on(sig, onSignal);
  }
}
