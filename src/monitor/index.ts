/** loopwise/monitor: event-loop delay, utilisation and blocks with live stacks. Re-exports only. */
export { monitorLoop, describeBlock } from './monitor-loop.js';
export { prometheusMetrics } from './prometheus.js';
export { openTelemetryMetrics } from './opentelemetry.js';
export type { BlockEvent, DelayStats, LoopMonitor, LoopSnapshot, LoopTotals, LoopWindow, MonitorOptions, StackFrame } from './types.js';
export type { MetricsExport } from './metrics-export.js';
export type { PrometheusOptions, PrometheusRegistry } from './prometheus.js';
export type { OtelBatchResult, OtelMeter, OtelObservable } from './opentelemetry.js';
