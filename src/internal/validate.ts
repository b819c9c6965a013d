/**
 * Argument checks shared by every public entry point (core, workers, monitor,
 * CLI). A leaf module with no imports, outside core so the other areas need
 * not reach into core internals. A bad argument is a TypeError (wrong type)
 * or RangeError (right type, wrong value) whose message names the argument
 * and shows the value, with a stable `code`.
 */
export type InvalidArgCode = 'LOOPWISE_INVALID_ARG_TYPE' | 'LOOPWISE_INVALID_ARG_VALUE';

export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? value.slice(0, 57) + '...' : value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'symbol') return value.toString();
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  const ctor = (value as object).constructor;
  return ctor && ctor.name ? `an instance of ${ctor.name}` : 'an object';
}

export function typeError(message: string): TypeError {
  const e = new TypeError(message) as TypeError & { code: InvalidArgCode };
  e.code = 'LOOPWISE_INVALID_ARG_TYPE';
  return e;
}

export function rangeError(message: string): RangeError {
  const e = new RangeError(message) as RangeError & { code: InvalidArgCode };
  e.code = 'LOOPWISE_INVALID_ARG_VALUE';
  return e;
}

/** A duration: a finite number >= 0 (Infinity allowed when `allowInfinity`). */
export function checkMs(value: unknown, name: string, allowInfinity = false): asserts value is number {
  if (typeof value !== 'number') throw typeError(`${name} must be a number of milliseconds, got ${show(value)}`);
  if (Number.isNaN(value) || value < 0 || (!allowInfinity && !Number.isFinite(value))) {
    throw rangeError(`${name} must be a ${allowInfinity ? '' : 'finite '}number >= 0, got ${show(value)}`);
  }
}

export function checkFunction(value: unknown, name: string): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw typeError(`${name} must be a function, got ${show(value)}`);
}

/** An integer >= min, or Infinity when allowed. */
export function checkCount(value: unknown, name: string, min: number, allowInfinity = false): asserts value is number {
  if (typeof value !== 'number') throw typeError(`${name} must be a number, got ${show(value)}`);
  if (value === Infinity && allowInfinity) return;
  if (!Number.isInteger(value) || value < min) {
    throw rangeError(`${name} must be an integer >= ${min}${allowInfinity ? ' or Infinity' : ''}, got ${show(value)}`);
  }
}

export function checkOptions(value: unknown, name: string): asserts value is object | undefined {
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw typeError(`${name} must be an object, got ${show(value)}`);
  }
}

export function checkName(value: unknown, name: string): asserts value is string | undefined {
  if (value !== undefined && typeof value !== 'string') throw typeError(`${name} must be a string, got ${show(value)}`);
}
