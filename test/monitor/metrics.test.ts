/**
 * The monitor's metrics exporters on the real packages: a prom-client
 * Registry scraped as text, and an OpenTelemetry MeterProvider with an
 * InMemoryMetricExporter. A real block (a JS spin on the main thread, longer
 * than the threshold) must move the counters; the delay gauges cover one
 * scrape window each; the user's snapshot()/reset() stay untouched.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { AggregationTemporality, DataPointType, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { monitorLoop, openTelemetryMetrics, prometheusMetrics, type BlockEvent, type LoopMonitor } from 'loopwise/monitor';
import { activeResources, assertNoNewTimers } from '../helpers/leaks.js';

const THRESHOLD = 50;
const BLOCK_MS = 200;

function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/**
 * A monitor whose blocks can be awaited. Its timer and thread are unref'd,
 * so `block()` holds a ref'd interval until the block is reported.
 */
async function startMonitor(opts: { gc?: boolean } = {}): Promise<{ monitor: LoopMonitor; block: () => Promise<BlockEvent> }> {
  const waiting: ((b: BlockEvent) => void)[] = [];
  const monitor = monitorLoop({ blockThresholdMs: THRESHOLD, captureStacks: false, onBlock: (b) => waiting.shift()?.(b), ...opts });
  // Let the first heartbeat run (a timer due later than it fires after it).
  await delay(THRESHOLD);
  const block = async (): Promise<BlockEvent> => {
    const got = new Promise<BlockEvent>((resolve) => waiting.push(resolve));
    const keep = setInterval(() => {}, 1_000);
    spin(BLOCK_MS);
    return got.finally(() => clearInterval(keep));
  };
  return { monitor, block };
}

async function stopMonitor(monitor: LoopMonitor): Promise<void> {
  monitor.stop();
  await monitor.closed;
}

function invalid(fn: () => unknown, message: RegExp, code = 'LOOPWISE_INVALID_ARG_TYPE', type: typeof TypeError = TypeError): void {
  assert.throws(fn, (e: Error & { code?: string }) => e instanceof type && message.test(e.message) && e.code === code, String(message));
}

// ---- Prometheus ---------------------------------------------------------

const PROM: [name: string, type: 'gauge' | 'counter'][] = [
  ['loopwise_eventloop_lag_mean_seconds', 'gauge'],
  ['loopwise_eventloop_lag_max_seconds', 'gauge'],
  ['loopwise_eventloop_lag_p50_seconds', 'gauge'],
  ['loopwise_eventloop_lag_p90_seconds', 'gauge'],
  ['loopwise_eventloop_lag_p99_seconds', 'gauge'],
  ['loopwise_eventloop_utilization_ratio', 'gauge'],
  ['loopwise_eventloop_blocks_total', 'counter'],
  ['loopwise_eventloop_blocked_seconds_total', 'counter'],
  ['loopwise_eventloop_starved_total', 'counter'],
  ['loopwise_eventloop_starved_seconds_total', 'counter'],
];
/** What a monitor started with `gc: true` adds. */
const PROM_GC: [name: string, type: 'gauge' | 'counter'][] = [
  ['loopwise_gc_duration_seconds_total', 'counter'],
  ['loopwise_gc_collections_total', 'counter'],
];

/** The sample values of a Prometheus text exposition, by metric name (no labels here). */
function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    assert.ok(m, `a sample line: ${line}`);
    out.set(m[1]!, Number(m[3]));
  }
  return out;
}

test('prometheus: every metric has HELP, TYPE and one value, in seconds or a ratio, next to prom-client defaults', async () => {
  const { monitor } = await startMonitor({ gc: true });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const exp = prometheusMetrics(monitor, { registry });
  assert.deepEqual(exp.names, [...PROM, ...PROM_GC].map(([n]) => n));
  const text = await registry.metrics();
  const values = parseExposition(text);
  for (const [name, type] of [...PROM, ...PROM_GC]) {
    assert.match(text, new RegExp(`^# HELP ${name} \\S.+$`, 'm'), name);
    assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), name);
    const v = values.get(name);
    assert.ok(v !== undefined && Number.isFinite(v) && v >= 0, `${name} = ${v}`);
    assert.match(name, type === 'counter' ? /_total$/ : /_(seconds|ratio)$/);
  }
  // prom-client's own event-loop metrics are still there, under their names.
  assert.ok(values.has('nodejs_eventloop_lag_p99_seconds'));
  assert.ok(values.get('loopwise_eventloop_utilization_ratio')! <= 1);
  exp.unregister();
  await stopMonitor(monitor);
});

test('prometheus: a real block increments the counters; the lag gauges cover one scrape window', async () => {
  const { monitor, block } = await startMonitor();
  const registry = new Registry();
  const exp = prometheusMetrics(monitor, { registry });
  const before = parseExposition(await registry.metrics());
  assert.equal(before.get('loopwise_eventloop_blocks_total'), monitor.totals().blockCount);

  const b = await block();
  // A neighbour process can stall ours past the threshold too: count against the monitor's totals.
  const totals = monitor.totals();
  assert.ok(totals.blockCount >= before.get('loopwise_eventloop_blocks_total')! + 1);
  // Two scrapes with only microtasks between them: no heartbeat can run in
  // between, so the second window is empty.
  const first = parseExposition(await registry.metrics());
  const second = parseExposition(await registry.metrics());
  assert.equal(first.get('loopwise_eventloop_blocks_total'), totals.blockCount);
  assert.equal(first.get('loopwise_eventloop_blocked_seconds_total'), totals.blockedMs / 1000);
  assert.ok(totals.blockedMs >= b.durationMs && b.durationMs >= THRESHOLD);
  assert.ok(first.get('loopwise_eventloop_lag_max_seconds')! >= THRESHOLD / 1000, `max lag ${first.get('loopwise_eventloop_lag_max_seconds')} s`);
  assert.ok(first.get('loopwise_eventloop_lag_p99_seconds')! <= first.get('loopwise_eventloop_lag_max_seconds')!);
  assert.ok(first.get('loopwise_eventloop_utilization_ratio')! > 0);
  for (const g of ['mean', 'max', 'p50', 'p90', 'p99']) assert.equal(second.get(`loopwise_eventloop_lag_${g}_seconds`), 0, g);
  assert.equal(second.get('loopwise_eventloop_blocks_total'), totals.blockCount, 'counters are lifetime, not windowed');

  // The user's snapshot()/reset() neither disturb nor are disturbed by scrapes.
  const snap = monitor.snapshot();
  assert.equal(snap.blockCount, totals.blockCount);
  assert.ok(snap.delay.max >= THRESHOLD, 'scrapes did not reset the snapshot window');
  monitor.reset();
  const after = parseExposition(await registry.metrics());
  assert.equal(after.get('loopwise_eventloop_blocks_total'), totals.blockCount, 'reset() leaves the counters');
  registry.resetMetrics();
  assert.equal(parseExposition(await registry.metrics()).get('loopwise_eventloop_blocks_total'), totals.blockCount, 'so does registry.resetMetrics()');

  await block();
  const third = parseExposition(await registry.metrics());
  assert.ok(third.get('loopwise_eventloop_blocks_total')! >= totals.blockCount + 1);
  assert.equal(third.get('loopwise_eventloop_blocks_total'), monitor.totals().blockCount);
  exp.unregister();
  await stopMonitor(monitor);
});

test('prometheus: a prefix; unregister removes exactly ours, idempotent; a name taken throws and leaves nothing half-registered', async () => {
  const before = activeResources();
  const { monitor } = await startMonitor();
  const registry = new Registry();
  const a = prometheusMetrics(monitor, { registry, prefix: 'app_' });
  assert.ok(a.names.every((n) => n.startsWith('app_eventloop_') || n.startsWith('app_gc_')));
  const b = prometheusMetrics(monitor, { registry });
  assert.throws(() => prometheusMetrics(monitor, { registry }), /already been registered/);
  assert.equal(registry.getMetricsAsArray().length, 2 * PROM.length, 'the failed call left nothing');
  b.unregister();
  b.unregister();
  const text = await registry.metrics();
  assert.doesNotMatch(text, /^loopwise_/m);
  assert.match(text, /^app_eventloop_blocks_total 0$/m);
  a[Symbol.dispose]();
  assert.equal((await registry.metrics()).trim(), '');
  // The names are free again.
  prometheusMetrics(monitor, { registry }).unregister();
  await stopMonitor(monitor);
  assertNoNewTimers(before);
});

test('prometheus: bad arguments throw naming the argument and the value', async () => {
  const { monitor } = await startMonitor();
  const registry = new Registry();
  invalid(() => prometheusMetrics(null as never, { registry }), /monitor must be a LoopMonitor \(from monitorLoop\(\)\), got null/);
  invalid(() => prometheusMetrics({} as never, { registry }), /monitor must be a LoopMonitor.*got an instance of Object/);
  invalid(() => prometheusMetrics(monitor, undefined as never), /opts must be an object with a registry, got undefined/);
  invalid(() => prometheusMetrics(monitor, 'r' as never), /opts must be an object, got "r"/);
  invalid(() => prometheusMetrics(monitor, {} as never), /opts\.registry must be a prom-client Registry, got undefined/);
  invalid(() => prometheusMetrics(monitor, { registry: {} as never }), /opts\.registry must be a prom-client Registry, got an instance of Object/);
  invalid(() => prometheusMetrics(monitor, { registry, prefix: 42 as never }), /opts\.prefix must be a string, got 42/);
  invalid(() => prometheusMetrics(monitor, { registry, prefix: '9app_' }), /opts\.prefix must match .*, got "9app_"/, 'LOOPWISE_INVALID_ARG_VALUE', RangeError);
  invalid(() => prometheusMetrics(monitor, { registry, prefix: 'my-app_' }), /opts\.prefix .*"my-app_"/, 'LOOPWISE_INVALID_ARG_VALUE', RangeError);
  assert.equal(registry.getMetricsAsArray().length, 0);
  await stopMonitor(monitor);
});

test('prometheus and opentelemetry: GC metrics only from a monitor that times GC, and they move with a collection', async () => {
  const before = activeResources();
  const gcNames = PROM_GC.map(([n]) => n);
  const plain = await startMonitor();
  assert.equal(plain.monitor.totals().gc, null);
  assert.equal(plain.monitor.snapshot().gc, null);
  const r1 = new Registry();
  const e1 = prometheusMetrics(plain.monitor, { registry: r1 });
  assert.deepEqual(e1.names, PROM.map(([n]) => n));
  assert.doesNotMatch(await r1.metrics(), /loopwise_gc_/);
  const { provider, reader } = otelSetup();
  const o1 = openTelemetryMetrics(plain.monitor, provider.getMeter('plain'));
  assert.ok(!o1.names.some((n) => n.startsWith('loopwise.gc.')), o1.names.join());
  assert.ok(!(await collect(reader)).has('loopwise.gc.time'));
  e1.unregister();
  o1.unregister();
  await provider.shutdown();
  await stopMonitor(plain.monitor);

  const timed = await startMonitor({ gc: true });
  const r2 = new Registry();
  const e2 = prometheusMetrics(timed.monitor, { registry: r2 });
  const gcBefore = parseExposition(await r2.metrics()).get('loopwise_gc_collections_total')!;
  const force = (globalThis as { gc?: () => void }).gc;
  assert.ok(force, 'the tests run with --expose-gc');
  force();
  // The observer's entries arrive on a later turn.
  for (let i = 0; i < 50 && timed.monitor.totals().gc!.count === gcBefore; i++) await delay(10);
  const after = parseExposition(await r2.metrics());
  assert.ok(after.get('loopwise_gc_collections_total')! > gcBefore, `collections ${gcBefore} -> ${after.get('loopwise_gc_collections_total')}`);
  assert.ok(after.get('loopwise_gc_duration_seconds_total')! > 0);
  assert.equal(after.get('loopwise_gc_collections_total'), timed.monitor.totals().gc!.count);
  assert.deepEqual(e2.names, [...PROM, ...PROM_GC].map(([n]) => n));
  const { provider: p2 } = otelSetup();
  const o2 = openTelemetryMetrics(timed.monitor, p2.getMeter('timed'));
  assert.deepEqual(o2.names, [...OTEL, ...OTEL_GC].map(([n]) => n));
  o2.unregister();
  await p2.shutdown();
  e2.unregister();
  await stopMonitor(timed.monitor);
  // The GC observer delivers its last entries on an immediate: let it run, then nothing is left.
  await new Promise<void>((r) => setImmediate(r));
  assertNoNewTimers(before);
});

// ---- OpenTelemetry ------------------------------------------------------

const OTEL: [name: string, kind: 'gauge' | 'counter', unit: string][] = [
  ['loopwise.eventloop.delay.mean', 'gauge', 's'],
  ['loopwise.eventloop.delay.max', 'gauge', 's'],
  ['loopwise.eventloop.delay.p50', 'gauge', 's'],
  ['loopwise.eventloop.delay.p90', 'gauge', 's'],
  ['loopwise.eventloop.delay.p99', 'gauge', 's'],
  ['loopwise.eventloop.utilization', 'gauge', '1'],
  ['loopwise.eventloop.blocks', 'counter', '{block}'],
  ['loopwise.eventloop.blocked.time', 'counter', 's'],
  ['loopwise.eventloop.starved', 'counter', '{stall}'],
  ['loopwise.eventloop.starved.time', 'counter', 's'],
];
const OTEL_GC: [name: string, kind: 'gauge' | 'counter', unit: string][] = [
  ['loopwise.gc.time', 'counter', 's'],
  ['loopwise.gc.collections', 'counter', '{collection}'],
];

function otelSetup(): { provider: MeterProvider; reader: PeriodicExportingMetricReader; exporter: InMemoryMetricExporter } {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // The interval is never reached: the tests collect and flush by hand.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  return { provider, reader, exporter };
}

async function collect(reader: PeriodicExportingMetricReader): Promise<Map<string, MetricData>> {
  const { resourceMetrics, errors } = await reader.collect();
  assert.deepEqual(errors, []);
  const out = new Map<string, MetricData>();
  for (const sm of resourceMetrics.scopeMetrics) for (const m of sm.metrics) out.set(m.descriptor.name, m);
  return out;
}

function value(metrics: Map<string, MetricData>, name: string): number {
  const m = metrics.get(name);
  assert.ok(m, `${name} collected`);
  assert.equal(m.dataPoints.length, 1, name);
  return m.dataPoints[0]!.value as number;
}

test('opentelemetry: observable gauges and monotonic counters with units and descriptions, exported', async () => {
  const before = activeResources();
  const { monitor } = await startMonitor();
  const { provider, reader, exporter } = otelSetup();
  const exp = openTelemetryMetrics(monitor, provider.getMeter('loopwise-test'));
  assert.deepEqual(exp.names, OTEL.map(([n]) => n));
  await reader.forceFlush();
  const exported = exporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics));
  for (const [name, kind, unit] of OTEL) {
    const m = exported.find((x) => x.descriptor.name === name);
    assert.ok(m, `${name} exported`);
    assert.equal(m.descriptor.unit, unit, name);
    assert.ok(m.descriptor.description.length > 10, name);
    if (kind === 'gauge') assert.equal(m.dataPointType, DataPointType.GAUGE, name);
    else {
      assert.equal(m.dataPointType, DataPointType.SUM, name);
      assert.equal((m as { isMonotonic?: boolean }).isMonotonic, true, name);
    }
    const v = m.dataPoints[0]!.value as number;
    assert.ok(Number.isFinite(v) && v >= 0, `${name} = ${v}`);
  }
  exp.unregister();
  await provider.shutdown();
  await stopMonitor(monitor);
  assertNoNewTimers(before);
});

test('opentelemetry: a real block increments the counters; delay covers one collection; unregister removes the callback', async () => {
  const before = activeResources();
  const { monitor, block } = await startMonitor();
  const { provider, reader } = otelSetup();
  const exp = openTelemetryMetrics(monitor, provider.getMeter('loopwise-test'));
  const start = await collect(reader);
  assert.equal(value(start, 'loopwise.eventloop.blocks'), monitor.totals().blockCount);

  const b = await block();
  const totals = monitor.totals();
  const first = await collect(reader);
  const second = await collect(reader);
  assert.ok(totals.blockCount >= value(start, 'loopwise.eventloop.blocks') + 1);
  assert.equal(value(first, 'loopwise.eventloop.blocks'), totals.blockCount);
  assert.equal(value(first, 'loopwise.eventloop.blocked.time'), totals.blockedMs / 1000);
  assert.ok(totals.blockedMs >= b.durationMs && b.durationMs >= THRESHOLD);
  assert.ok(value(first, 'loopwise.eventloop.delay.max') >= THRESHOLD / 1000);
  assert.ok(value(first, 'loopwise.eventloop.delay.p99') <= value(first, 'loopwise.eventloop.delay.max'));
  // collect() runs the callback and settles in microtasks only: no heartbeat ran between them.
  for (const g of ['mean', 'max', 'p50', 'p90', 'p99']) assert.equal(value(second, `loopwise.eventloop.delay.${g}`), 0, g);
  assert.equal(value(second, 'loopwise.eventloop.blocks'), totals.blockCount);
  assert.equal(monitor.snapshot().blockCount, totals.blockCount, 'collections leave the snapshot');

  exp.unregister();
  exp[Symbol.dispose]();
  await block();
  assert.ok(monitor.totals().blockCount > totals.blockCount);
  // The SDK keeps reporting a cumulative instrument's last point; it must no longer move.
  const after = await collect(reader);
  assert.equal(after.get('loopwise.eventloop.blocks')?.dataPoints[0]?.value ?? totals.blockCount, totals.blockCount, 'the callback is gone');
  await provider.shutdown();
  await stopMonitor(monitor);
  assertNoNewTimers(before);
});

test('opentelemetry: bad arguments throw naming the argument and the value', async () => {
  const { monitor } = await startMonitor();
  const { provider } = otelSetup();
  invalid(() => openTelemetryMetrics(undefined as never, provider.getMeter('x')), /monitor must be a LoopMonitor.*got undefined/);
  invalid(() => openTelemetryMetrics(monitor, null as never), /meter must be an OpenTelemetry Meter, got null/);
  invalid(() => openTelemetryMetrics(monitor, provider as never), /meter must be an OpenTelemetry Meter, got an instance of MeterProvider/);
  await provider.shutdown();
  await stopMonitor(monitor);
});

test('LoopWindow: independent of snapshot() and of other windows; closed windows stop recording', async () => {
  const { monitor, block } = await startMonitor();
  const w1 = monitor.openWindow();
  const w2 = monitor.openWindow();
  await block();
  const a = w1.take();
  assert.ok(a.delay.max >= THRESHOLD, `w1 max ${a.delay.max}`);
  assert.equal(w1.take().delay.max, 0, 'taken: the next window is empty');
  assert.ok(w2.take().delay.max >= THRESHOLD, 'w2 was not reset by w1');
  assert.ok(monitor.snapshot().delay.max >= THRESHOLD);
  w1.close();
  w1.close();
  await block();
  assert.equal(w1.take().delay.max, 0, 'a closed window records nothing');
  assert.ok(w2.take().delay.max >= THRESHOLD);
  const t = monitor.totals();
  assert.ok(t.blockCount >= 2);
  monitor.reset();
  assert.equal(monitor.snapshot().blockCount, 0);
  assert.equal(monitor.totals().blockCount, t.blockCount, 'reset() leaves the totals');
  w2.close();
  await stopMonitor(monitor);
});
