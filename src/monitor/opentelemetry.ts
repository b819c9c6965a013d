/**
 * openTelemetryMetrics: the monitor's figures as OpenTelemetry observable
 * instruments on the user's Meter, read by one batch callback per
 * collection.
 *
 * `@opentelemetry/api` is an optional peer dependency, and nothing of it is
 * needed here at run time: the user's Meter makes the instruments. The Meter
 * is typed structurally so the public types of loopwise/monitor compile
 * without the package installed.
 *
 * Names follow the OpenTelemetry semantic conventions' style (dotted, unit
 * in `unit`, not in the name), in a `loopwise.` namespace throughout: the
 * delay and utilisation names of `@opentelemetry/instrumentation-runtime-node`
 * (`nodejs.eventloop.delay.p99`, `nodejs.eventloop.utilization`) are kept
 * free for it, and a library may not add names of its own to the `nodejs.`
 * namespace of the conventions.
 *
 * Delay gauges cover the time since the previous collection (as
 * runtime-node's, whose histogram is reset on each collect), from a window
 * of this exporter's own, so the user's `snapshot()`/`reset()` are
 * untouched. With several metric readers on one MeterProvider, each
 * collection takes the window, so each reader sees the delay since any
 * reader's previous collection. Counters are the monitor's lifetime totals
 * (cumulative, monotonic).
 */
import { checkMonitor, readTotals, readWindow, type MetricsExport } from './metrics-export.js';
import { show, typeError } from '../internal/validate.js';
import type { LoopMonitor } from './types.js';

/** An observable instrument as `@opentelemetry/api` makes it (opaque here). */
export type OtelObservable = object;
/** The part of an `@opentelemetry/api` `BatchObservableResult` this uses. */
export interface OtelBatchResult {
  observe(observable: OtelObservable, value: number): void;
}
/** The part of an `@opentelemetry/api` `Meter` this uses (any api 1.x Meter fits). */
export interface OtelMeter {
  createObservableGauge(name: string, options?: { description?: string; unit?: string }): OtelObservable;
  createObservableCounter(name: string, options?: { description?: string; unit?: string }): OtelObservable;
  addBatchObservableCallback(callback: (result: OtelBatchResult) => void, observables: OtelObservable[]): void;
  removeBatchObservableCallback(callback: (result: OtelBatchResult) => void, observables: OtelObservable[]): void;
}

interface Spec {
  name: string;
  kind: 'gauge' | 'counter';
  unit: string;
  description: string;
}

const SPECS: Spec[] = [
  { name: 'loopwise.eventloop.delay.mean', kind: 'gauge', unit: 's', description: 'Mean event-loop delay since the last collection.' },
  { name: 'loopwise.eventloop.delay.max', kind: 'gauge', unit: 's', description: 'Maximum event-loop delay since the last collection.' },
  { name: 'loopwise.eventloop.delay.p50', kind: 'gauge', unit: 's', description: 'The 50th percentile of event-loop delay since the last collection.' },
  { name: 'loopwise.eventloop.delay.p90', kind: 'gauge', unit: 's', description: 'The 90th percentile of event-loop delay since the last collection.' },
  { name: 'loopwise.eventloop.delay.p99', kind: 'gauge', unit: 's', description: 'The 99th percentile of event-loop delay since the last collection.' },
  { name: 'loopwise.eventloop.utilization', kind: 'gauge', unit: '1', description: 'Event-loop utilisation (0..1) since the last collection.' },
  { name: 'loopwise.eventloop.blocks', kind: 'counter', unit: '{block}', description: 'Blocks of the event loop longer than the monitor threshold.' },
  { name: 'loopwise.eventloop.blocked.time', kind: 'counter', unit: 's', description: 'Total time the event loop was blocked.' },
  { name: 'loopwise.eventloop.starved', kind: 'counter', unit: '{stall}', description: 'Stalls of the event loop past the threshold while the machine gave the process no CPU (not blocks).' },
  { name: 'loopwise.eventloop.starved.time', kind: 'counter', unit: 's', description: 'Total time of those stalls.' },
  { name: 'loopwise.gc.time', kind: 'counter', unit: 's', description: 'Total time spent in garbage collection.' },
  { name: 'loopwise.gc.collections', kind: 'counter', unit: '{collection}', description: 'Garbage collections.' },
];

/**
 * Adds the monitor's figures to an OpenTelemetry Meter as observable
 * instruments: delay gauges (seconds) and utilisation over each collection
 * interval, and lifetime counters of blocks, blocked seconds and GC. Names
 * are those of docs/monitor.md ("Metrics: OpenTelemetry").
 *
 * @throws TypeError (LOOPWISE_INVALID_ARG_TYPE) when `monitor` is not a LoopMonitor or `meter` not a Meter.
 * @example
 * import { metrics } from '@opentelemetry/api';
 * const monitor = monitorLoop();
 * const exported = openTelemetryMetrics(monitor, metrics.getMeter('my-service'));
 * // ... on shutdown
 * exported.unregister();
 * monitor.stop();
 */
export function openTelemetryMetrics(monitor: LoopMonitor, meter: OtelMeter): MetricsExport {
  checkMonitor(monitor);
  const m = meter as Partial<OtelMeter> | null;
  if (
    typeof m !== 'object' ||
    m === null ||
    typeof m.createObservableGauge !== 'function' ||
    typeof m.createObservableCounter !== 'function' ||
    typeof m.addBatchObservableCallback !== 'function' ||
    typeof m.removeBatchObservableCallback !== 'function'
  ) {
    throw typeError(`meter must be an OpenTelemetry Meter, got ${show(meter)}`);
  }
  // GC only from a monitor that times it (monitorLoop({ gc: true })).
  const specs = monitor.totals().gc === null ? SPECS.filter((s) => !s.name.startsWith('loopwise.gc.')) : SPECS;
  const instruments = specs.map((s) =>
    s.kind === 'gauge'
      ? meter.createObservableGauge(s.name, { description: s.description, unit: s.unit })
      : meter.createObservableCounter(s.name, { description: s.description, unit: s.unit }),
  );
  const window = monitor.openWindow();
  const callback = (result: OtelBatchResult): void => {
    const w = readWindow(window);
    const t = readTotals(monitor);
    const values = [w.mean, w.max, w.p50, w.p90, w.p99, w.utilization, t.blocks, t.blockedSeconds, t.starved, t.starvedSeconds, t.gc?.seconds ?? 0, t.gc?.count ?? 0];
    for (let i = 0; i < instruments.length; i++) result.observe(instruments[i]!, values[i]!);
  };
  meter.addBatchObservableCallback(callback, instruments);
  let done = false;
  const unregister = (): void => {
    if (done) return;
    done = true;
    meter.removeBatchObservableCallback(callback, instruments);
    window.close();
  };
  return { names: specs.map((s) => s.name), unregister, [Symbol.dispose]: unregister };
}
