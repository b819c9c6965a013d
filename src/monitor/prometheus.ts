/**
 * prometheusMetrics: the monitor's figures as prom-client metrics on the
 * user's Registry.
 *
 * prom-client is an optional peer dependency: it is loaded (with `require`,
 * it is CommonJS) only when this function is called, from where loopwise is
 * installed, so a program that never exports to Prometheus never needs it.
 * The registry is typed structurally for the same reason: the public types
 * of loopwise/monitor must compile without prom-client installed.
 *
 * Semantics follow prom-client's own event-loop metrics: the delay gauges
 * cover the time since the previous scrape (prom-client resets its lag
 * histogram on every collect, PR #459), read from a window of this
 * exporter's own so the user's `snapshot()`/`reset()` are untouched; the
 * counters are lifetime totals of the monitor. As in prom-client, one
 * metric's `collect` (the first registered) reads the window and sets the
 * other gauges, so a whole-registry scrape sees one consistent window.
 *
 * Rejected: `await import('prom-client')` (it would make the call async for
 * no gain: the module is CommonJS), and metric-like objects of our own
 * registered without prom-client (the Registry's expectations of a metric
 * are not a documented interface).
 */
import { createRequire } from 'node:module';
import { checkOptions, rangeError, show, typeError } from '../internal/validate.js';
import { checkMonitor, readTotals, readWindow, type MetricsExport, type TotalsReading, type WindowReading } from './metrics-export.js';
import type { LoopMonitor } from './types.js';

/** The part of a prom-client `Registry` this uses (any prom-client 15 registry fits). */
export interface PrometheusRegistry {
  registerMetric(metric: never): void;
  removeSingleMetric(name: string): void;
  getSingleMetric(name: string): unknown;
}

export interface PrometheusOptions {
  /** The prom-client `Registry` to register on (e.g. `new Registry()` or prom-client's `register`). */
  registry: PrometheusRegistry;
  /** Prepended to every name (default `loopwise_`, so nothing collides with prom-client's `nodejs_` defaults). */
  prefix?: string;
}

interface PromMetric {
  name: string;
  set?(v: number): void;
  reset(): void;
  inc?(v: number): void;
}
type Ctor = new (cfg: Record<string, unknown>) => PromMetric;

/** prom-client's valid metric name characters (a prefix may be empty). */
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function loadPromClient(): { Gauge: Ctor; Counter: Ctor } {
  try {
    return createRequire(import.meta.url)('prom-client') as { Gauge: Ctor; Counter: Ctor };
  } catch (e) {
    const err = new Error('prometheusMetrics needs the optional peer dependency prom-client: npm install prom-client', { cause: e }) as Error & { code?: unknown };
    err.code = (e as { code?: unknown }).code;
    throw err;
  }
}

/**
 * Registers the monitor's metrics on a prom-client Registry: event-loop delay
 * (mean, max, p50, p90, p99 over the scrape interval, in seconds),
 * utilisation, and lifetime counters of blocks, blocked seconds and GC.
 * Names are those of docs/monitor.md ("Metrics: Prometheus").
 *
 * @throws TypeError (LOOPWISE_INVALID_ARG_TYPE) when `monitor` is not a LoopMonitor, `opts.registry` not a Registry,
 *   or `opts.prefix` not a string; RangeError (LOOPWISE_INVALID_ARG_VALUE) for a prefix that is not a valid name start.
 *   prom-client's own Error when a name is already registered (nothing of ours is left registered then).
 * @example
 * import { Registry } from 'prom-client';
 * const registry = new Registry();
 * const monitor = monitorLoop();
 * const metrics = prometheusMetrics(monitor, { registry });
 * const text = await registry.metrics(); // loopwise_eventloop_lag_p99_seconds 0.0012 ...
 * metrics.unregister();
 * monitor.stop();
 */
export function prometheusMetrics(monitor: LoopMonitor, opts: PrometheusOptions): MetricsExport {
  checkMonitor(monitor);
  checkOptions(opts, 'opts');
  if (opts === undefined) throw typeError(`opts must be an object with a registry, got ${show(opts)}`);
  const { registry, prefix = 'loopwise_' } = opts;
  const r = registry as Partial<PrometheusRegistry> | null;
  if (typeof r !== 'object' || r === null || typeof r.registerMetric !== 'function' || typeof r.removeSingleMetric !== 'function' || typeof r.getSingleMetric !== 'function') {
    throw typeError(`opts.registry must be a prom-client Registry, got ${show(registry)}`);
  }
  if (typeof prefix !== 'string') throw typeError(`opts.prefix must be a string, got ${show(prefix)}`);
  if (prefix !== '' && !NAME.test(prefix)) throw rangeError(`opts.prefix must match ${NAME.source}, got ${show(prefix)}`);
  const { Gauge, Counter } = loadPromClient();

  const window = monitor.openWindow();
  const registers = [registry];
  const made: PromMetric[] = [];
  const n = (s: string): string => prefix + s;
  const gauges: { name: string; help: string; value: (x: WindowReading) => number; aggregator: string }[] = [
    { name: n('eventloop_lag_mean_seconds'), help: 'Mean event-loop delay (lag) since the last scrape, in seconds.', value: (x) => x.mean, aggregator: 'average' },
    { name: n('eventloop_lag_max_seconds'), help: 'Maximum event-loop delay (lag) since the last scrape, in seconds.', value: (x) => x.max, aggregator: 'max' },
    { name: n('eventloop_lag_p50_seconds'), help: 'The 50th percentile of event-loop delay (lag) since the last scrape, in seconds.', value: (x) => x.p50, aggregator: 'average' },
    { name: n('eventloop_lag_p90_seconds'), help: 'The 90th percentile of event-loop delay (lag) since the last scrape, in seconds.', value: (x) => x.p90, aggregator: 'average' },
    { name: n('eventloop_lag_p99_seconds'), help: 'The 99th percentile of event-loop delay (lag) since the last scrape, in seconds.', value: (x) => x.p99, aggregator: 'average' },
    { name: n('eventloop_utilization_ratio'), help: 'Event-loop utilisation (0..1, the share of time the loop was busy) since the last scrape.', value: (x) => x.utilization, aggregator: 'average' },
  ];
  const counters: { name: string; help: string; value: (x: TotalsReading) => number }[] = [
    { name: n('eventloop_blocks_total'), help: 'Blocks of the event loop longer than the monitor threshold.', value: (x) => x.blocks },
    { name: n('eventloop_blocked_seconds_total'), help: 'Total time the event loop was blocked, in seconds.', value: (x) => x.blockedSeconds },
    { name: n('eventloop_starved_total'), help: 'Stalls of the event loop past the threshold while the machine gave the process no CPU (not blocks).', value: (x) => x.starved },
    { name: n('eventloop_starved_seconds_total'), help: 'Total time of those stalls, in seconds.', value: (x) => x.starvedSeconds },
  ];
  // GC only from a monitor that times it (monitorLoop({ gc: true })); else prom-client's nodejs_gc_duration_seconds.
  if (monitor.totals().gc !== null) {
    counters.push(
      { name: n('gc_duration_seconds_total'), help: 'Total time spent in garbage collection, in seconds.', value: (x) => x.gc?.seconds ?? 0 },
      { name: n('gc_collections_total'), help: 'Garbage collections.', value: (x) => x.gc?.count ?? 0 },
    );
  }
  let gaugeMetrics: PromMetric[] = [];
  try {
    gauges.forEach((g, i) => {
      const m = new Gauge({
        name: g.name,
        help: g.help,
        registers,
        aggregator: g.aggregator,
        // The first gauge reads the window once per scrape and sets them all.
        collect:
          i === 0
            ? () => {
                const x = readWindow(window);
                gauges.forEach((h, j) => gaugeMetrics[j]!.set!(h.value(x)));
              }
            : undefined,
      });
      made.push(m);
    });
    gaugeMetrics = made.slice();
    for (const c of counters) {
      const m: PromMetric = new Counter({
        name: c.name,
        help: c.help,
        registers,
        aggregator: 'sum',
        collect() {
          // reset + inc: a lifetime total stays right even after registry.resetMetrics().
          m.reset();
          m.inc!(c.value(readTotals(monitor)));
        },
      });
      made.push(m);
    }
  } catch (e) {
    for (const m of made) registry.removeSingleMetric(m.name);
    window.close();
    throw e;
  }

  let done = false;
  const unregister = (): void => {
    if (done) return;
    done = true;
    for (const m of made) {
      // Only ours: the user may have replaced a metric of that name since.
      if (registry.getSingleMetric(m.name) === m) registry.removeSingleMetric(m.name);
    }
    window.close();
  };
  return { names: made.map((m) => m.name), unregister, [Symbol.dispose]: unregister };
}
