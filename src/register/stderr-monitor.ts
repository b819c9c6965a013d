/** `LOOPWISE_MONITOR=1`: a monitor that prints each block of the loop on stderr, with its stack. */
import { describeBlock, monitorLoop } from '../monitor/index.js';

export function startStderrMonitor(thresholdMs: number): void {
  monitorLoop({
    blockThresholdMs: thresholdMs,
    onBlock(b) {
      const frames = b.stack.slice(0, 8).map((f) => `    at ${f.functionName} (${f.url}:${f.line}:${f.column})`);
      process.stderr.write(`loopwise: ${describeBlock(b)}\n${frames.join('\n')}${frames.length > 0 ? '\n' : ''}`);
    },
  });
}
