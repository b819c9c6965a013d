/**
 * The monitoring set-ups the monitor's overhead benchmarks compare, one per
 * process: nothing, loopwise's monitor (default threshold 100 ms, so a 25 ms
 * heartbeat; the same without stack capture, so that a stall only counts;
 * and threshold 40 ms, a 10 ms heartbeat, the rate Clinic Doctor samples
 * at), prom-client's `collectDefaultMetrics()` (its event-loop
 * histogram, GC observer and process metrics, unscraped), and Clinic Doctor's
 * collector (its `-r injects/sampler.js` sampler every 10 ms plus V8 trace
 * events, as `clinic doctor` injects them through NODE_OPTIONS).
 *
 * Clinic Doctor is not a devDependency (it adds ~370 packages, ~100 MB, for
 * one comparison): install it for a run with
 * `npm install --no-save @clinic/doctor@11.0.0`; without it that variant
 * reports an error and the others run.
 */
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Monitoring = 'none' | 'monitor' | 'monitor-nocapture' | 'monitor-40' | 'prom-client' | 'clinic-doctor';

/** The variants in table order. */
export const ALL: Monitoring[] = ['none', 'monitor', 'monitor-nocapture', 'monitor-40', 'prom-client', 'clinic-doctor'];

export const usesLoopwise = (m: Monitoring): boolean => m.startsWith('monitor');

export const MONITORING: Record<Monitoring, string> = {
  none: 'no monitoring at all (loopwise not loaded)',
  monitor: '`monitorLoop()`: threshold 100 ms, heartbeat every 25 ms, watchdog thread idle',
  'monitor-nocapture': '`monitorLoop({ captureStacks: false })`: as `monitor`, but a stall past the threshold is only counted, never captured (no Debugger)',
  'monitor-40': '`monitorLoop({ blockThresholdMs: 40 })`: heartbeat every 10 ms',
  'prom-client': "prom-client 15.1.3 `collectDefaultMetrics({ register })` (no scrape during the run; loopwise not loaded)",
  'clinic-doctor': "@clinic/doctor 11.0.0's collector: `-r injects/sampler.js` (10 ms samples) + `--trace-events-enabled --trace-event-categories v8` (loopwise not loaded)",
};

/** Node flags and env for the measured process (Clinic's collector is injected at start-up). */
export function processSetup(m: Monitoring): { execArgv: string[]; env: NodeJS.ProcessEnv; cwd?: string } {
  if (m !== 'clinic-doctor') return { execArgv: [], env: process.env };
  let sampler: string;
  try {
    sampler = createRequire(import.meta.url).resolve('@clinic/doctor/injects/sampler.js');
  } catch {
    throw new Error('@clinic/doctor is not installed: npm install --no-save @clinic/doctor@11.0.0');
  }
  // The trace log and the samples go to a scratch folder, never the repo.
  const dir = mkdtempSync(join(tmpdir(), 'loopwise-bench-clinic-'));
  return {
    execArgv: ['-r', sampler, '--trace-events-enabled', '--trace-event-categories', 'v8'],
    env: {
      ...process.env,
      NODE_CLINIC_DOCTOR_DATA_PATH: dir,
      NODE_CLINIC_DOCTOR_SAMPLE_INTERVAL: '10',
      NODE_CLINIC_DOCTOR_TIMEOUT_DELAY: '0',
      NODE_CLINIC_DOCTOR_COLLECT_LOOP_UTILIZATION: 'true',
    },
    cwd: dir,
  };
}

export interface Running {
  stop(): void;
  /** Blocks the loopwise monitor reported so far, with the ms its captures held the thread (0 for the others). */
  blocks(): { count: number; captureMs: number };
}

/** Starts in-process monitoring (the part that is not a start-up flag). */
export async function startMonitoring(m: Monitoring): Promise<Running> {
  if (usesLoopwise(m)) {
    const { monitorLoop } = await import('loopwise/monitor');
    let captureMs = 0;
    const opts = m === 'monitor-40' ? { blockThresholdMs: 40 } : m === 'monitor-nocapture' ? { captureStacks: false } : {};
    const monitor = monitorLoop({ ...opts, onBlock: (b) => (captureMs += b.captureMs) });
    return { stop: () => monitor.stop(), blocks: () => ({ count: monitor.totals().blockCount, captureMs }) };
  }
  const none = { blocks: () => ({ count: 0, captureMs: 0 }) };
  if (m === 'prom-client') {
    const { collectDefaultMetrics, Registry } = await import('prom-client');
    const register = new Registry();
    collectDefaultMetrics({ register });
    return { stop: () => register.clear(), ...none };
  }
  return { stop: () => {}, ...none };
}
