/**
 * loopwise/register: the preload. `node --import loopwise/register app.js`
 * turns on what the environment asks for, so a program gets loopwise's
 * diagnostics without a code change:
 *
 * - `LOOPWISE_DEBUG=1`: debug mode (read by the core when it loads).
 * - `LOOPWISE_MONITOR=1`: starts `monitorLoop` and prints each block on
 *   stderr (`LOOPWISE_MONITOR_THRESHOLD_MS`, default 100).
 * - `LOOPWISE_DOCTOR_DIR=<dir>`: set by `loopwise doctor`; the monitor writes
 *   this process's samples and blocks to `<dir>/<pid>.ndjson` (from its
 *   watchdog thread, so the file grows while the main thread is blocked and
 *   survives a crash), and a V8 CPU profile to `<dir>/<pid>.cpuprofile` at
 *   exit. `NODE_OPTIONS` carries the preload into every Node child.
 *
 * Only the main thread of a process is instrumented: worker threads that
 * inherit the preload, and the watchdog itself, are left alone.
 */
import { isMainThread } from 'node:worker_threads';
import { startDoctorAgent } from './doctor-agent.js';
import { startStderrMonitor } from './stderr-monitor.js';

function threshold(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 10) {
    process.emitWarning(`${name} must be a number of ms >= 10, got ${JSON.stringify(raw)}: using ${fallback}`, {
      code: 'LOOPWISE_BAD_ENV',
      type: 'LoopwiseWarning',
    });
    return fallback;
  }
  return v;
}

if (isMainThread) {
  const doctorDir = process.env.LOOPWISE_DOCTOR_DIR;
  if (doctorDir !== undefined && doctorDir !== '') {
    startDoctorAgent(
      doctorDir,
      threshold('LOOPWISE_DOCTOR_THRESHOLD_MS', 100),
      threshold('LOOPWISE_DOCTOR_INTERVAL_MS', 200),
      process.env.LOOPWISE_DOCTOR_PROFILE !== '0',
    );
  } else if (process.env.LOOPWISE_MONITOR !== undefined && !['', '0', 'false'].includes(process.env.LOOPWISE_MONITOR)) {
    startStderrMonitor(threshold('LOOPWISE_MONITOR_THRESHOLD_MS', 100));
  }
}
