/**
 * Process-wide settings. Debug mode (also `LOOPWISE_DEBUG=1` in the
 * environment) records each task's creation stack and warns, with
 * `process.emitWarning` code LOOPWISE_CANCEL_IGNORED, about a task still
 * running `cancelWarningMs` after it was cancelled, naming what it awaits.
 */
import { rt } from './internal/runtime.js';
import { checkMs, checkOptions, show, typeError } from '../internal/validate.js';

export interface LoopwiseConfig {
  debug?: boolean;
  /** Debug mode: warn about a cancelled task still running after this long (default 1000). */
  cancelWarningMs?: number;
}

/**
 * Changes process-wide settings (shared by every copy of loopwise); returns the settings now in force.
 * @example
 * configure({ debug: true, cancelWarningMs: 500 });
 */
export function configure(opts: LoopwiseConfig = {}): Required<LoopwiseConfig> {
  checkOptions(opts, 'opts');
  if (opts.debug !== undefined) {
    if (typeof opts.debug !== 'boolean') throw typeError(`opts.debug must be a boolean, got ${show(opts.debug)}`);
    rt.debug = opts.debug;
  }
  if (opts.cancelWarningMs !== undefined) {
    checkMs(opts.cancelWarningMs, 'opts.cancelWarningMs');
    rt.cancelWarningMs = opts.cancelWarningMs;
  }
  return { debug: rt.debug, cancelWarningMs: rt.cancelWarningMs };
}
