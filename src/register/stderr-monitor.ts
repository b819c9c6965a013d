/** `LOOPWISE_MONITOR=1`: a monitor that prints each block of the loop on stderr, with its stack. */
import { describeBlock, formatStack, monitorLoop } from '../monitor/monitor-loop.js';

export function startStderrMonitor(thresholdMs: number): void {
  monitorLoop({
    blockThresholdMs: thresholdMs,
    onBlock(b) {
      const stack = formatStack(b, 8);
      process.stderr.write(`loopwise: ${describeBlock(b)}\n${stack === '' ? '' : `${stack}\n`}`);
    },
  });
}
