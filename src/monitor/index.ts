/** loopwise/monitor: event-loop delay, utilisation and blocks with live stacks. Re-exports only. */
export { monitorLoop, describeBlock } from './monitor-loop.js';
export type { BlockEvent, DelayStats, LoopMonitor, LoopSnapshot, MonitorOptions, StackFrame } from './types.js';
