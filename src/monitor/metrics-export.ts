/**
 * What the Prometheus and OpenTelemetry exporters share: the handle they
 * return, the check of the monitor argument, and the one place that turns a
 * monitor's window and totals into the exported figures (seconds, as both
 * ecosystems want). Kept apart so neither exporter imports the other.
 */
import { show, typeError } from '../internal/validate.js';
import type { LoopMonitor, LoopWindow } from './types.js';

/** What `prometheusMetrics` and `openTelemetryMetrics` return. */
export interface MetricsExport {
  /** The names of the exported metrics, in registration order. */
  readonly names: readonly string[];
  /** Removes every metric (or the callback) and closes the monitor window; idempotent. */
  unregister(): void;
  [Symbol.dispose](): void;
}

/** The windowed figures, in seconds (utilisation 0..1): since the reader's previous take. */
export interface WindowReading {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  utilization: number;
}

/** The lifetime counters, in seconds. */
export interface TotalsReading {
  blocks: number;
  blockedSeconds: number;
  starved: number;
  starvedSeconds: number;
  /** null when the monitor does not time GC (`monitorLoop({ gc: true })` does). */
  gc: { seconds: number; count: number } | null;
}

export function checkMonitor(monitor: unknown): asserts monitor is LoopMonitor {
  const m = monitor as Partial<LoopMonitor> | null;
  if (typeof m !== 'object' || m === null || typeof m.openWindow !== 'function' || typeof m.totals !== 'function') {
    throw typeError(`monitor must be a LoopMonitor (from monitorLoop()), got ${show(monitor)}`);
  }
}

/** Takes the window (and so starts the next one). */
export function readWindow(window: LoopWindow): WindowReading {
  const { delay: d, utilization } = window.take();
  return { mean: d.mean / 1000, p50: d.p50 / 1000, p90: d.p90 / 1000, p99: d.p99 / 1000, max: d.max / 1000, utilization };
}

export function readTotals(monitor: LoopMonitor): TotalsReading {
  const t = monitor.totals();
  return {
    blocks: t.blockCount,
    blockedSeconds: t.blockedMs / 1000,
    starved: t.starved.count,
    starvedSeconds: t.starved.totalMs / 1000,
    gc: t.gc === null ? null : { seconds: t.gc.totalMs / 1000, count: t.gc.count },
  };
}
