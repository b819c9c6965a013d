/**
 * The wire protocol between a WorkerPool and its worker threads, and the
 * error (de)serialisation both sides share. Pure: no imports from either
 * side, so the worker entry stays free of main-thread code.
 *
 * Jobs travel as small flat arrays over the worker's port (cheaper to clone
 * than objects with named keys), several per message when they can be: a
 * message costs more than its contents (an event-loop dispatch on each side).
 * Per worker, one SharedArrayBuffer holds two Int32 cells per job slot:
 * [abort flag, started flag]. The main thread sets the abort flag to cancel a
 * running job; a CPU loop reads it synchronously through jobSignal(). The started flag tells the pool, when it must
 * terminate a worker, which of its pipelined jobs never began (they are
 * re-queued) and which were running (they fail).
 *
 * Errors cross as plain records — {name, message, stack, code, cause, own
 * props, class} — because structured clone keeps the built-in class but
 * drops `code` and custom properties, while JSON loses the class: the pool
 * needs both (shared/research/worker-anchors.md, section 1).
 */

/**
 * main -> worker: [JOB, id, fn, args, slot, id, fn, args, slot, ...]: one or
 * more jobs (a pipelined worker gets every job the pool starts on it while
 * handling one message in a single postMessage).
 */
export const JOB = 0;
/** main -> worker: [CANCEL, id] (also sets the shared abort flag) */
export const CANCEL = 1;
/**
 * worker -> main: [REPLY, id, ok, value, id, ok, value, ...]: the outcomes of
 * one or more jobs; `ok` 1: value is the result; 0: a SerializedError. A
 * worker batches the replies of the jobs it ran while handling one message.
 */
export const REPLY = 2;
/** worker -> main: [READY, exportNames] */
export const READY = 4;
/** worker -> main: [LOAD_FAILED, SerializedError] */
export const LOAD_FAILED = 5;

/** Fields per job in a JOB message, and per outcome in a REPLY message. */
export const JOB_FIELDS = 4;
export const REPLY_FIELDS = 3;

export type ToWorker = [typeof JOB, ...unknown[]] | [typeof CANCEL, number];
export type FromWorker = [typeof REPLY, ...unknown[]] | [typeof READY, string[]] | [typeof LOAD_FAILED, SerializedError];

/** Cells per slot in the shared control buffer. */
export const CELLS = 2;
export const ABORT = 0;
export const STARTED = 1;

export interface WorkerConfig {
  moduleUrl: string;
  control: Int32Array;
  slots: number;
}

const BUILTINS = ['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError', 'URIError', 'AggregateError'] as const;
type Builtin = (typeof BUILTINS)[number] | 'DOMException';

export interface SerializedError {
  /** The built-in class to rebuild, or undefined for a non-Error thrown value. */
  kind: Builtin | undefined;
  name: string;
  message: string;
  stack: string | undefined;
  /** Own enumerable properties other than the standard ones (code included). */
  props: Record<string, unknown>;
  cause?: SerializedError | { value: unknown };
  errors?: (SerializedError | { value: unknown })[];
  /** A thrown non-Error value (a string, a number). */
  value?: unknown;
}

const SKIP = new Set(['name', 'message', 'stack', 'cause', 'errors']);

function builtinOf(e: Error): Builtin {
  if (typeof DOMException !== 'undefined' && e instanceof DOMException) return 'DOMException';
  let proto: object | null = Object.getPrototypeOf(e);
  while (proto !== null) {
    const ctor = (proto as { constructor?: { name?: string } }).constructor;
    const name = ctor?.name;
    if (name !== undefined && (BUILTINS as readonly string[]).includes(name) && ctor === (globalThis as Record<string, unknown>)[name]) {
      return name as Builtin;
    }
    proto = Object.getPrototypeOf(proto);
  }
  return 'Error';
}

/** Turns any thrown value into a cloneable record (depth-limited for causes). */
export function serializeError(e: unknown, depth = 0): SerializedError {
  if (!(e instanceof Error)) {
    return { kind: undefined, name: 'Error', message: describe(e), stack: undefined, props: {}, value: cloneable(e) ? e : describe(e) };
  }
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(e)) {
    if (SKIP.has(key)) continue;
    props[key] = (e as unknown as Record<string, unknown>)[key];
  }
  const out: SerializedError = { kind: builtinOf(e), name: e.name, message: e.message, stack: e.stack, props };
  if ('cause' in e && depth < 8) out.cause = e.cause instanceof Error ? serializeError(e.cause, depth + 1) : { value: e.cause };
  if (e instanceof AggregateError && depth < 8) {
    out.errors = e.errors.map((x) => (x instanceof Error ? serializeError(x, depth + 1) : { value: x }));
  }
  return out;
}

/** Drops what structured clone refuses (functions, symbols, class instances with methods are copied plainly). */
export function makeCloneable(s: SerializedError): SerializedError {
  const props: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s.props)) props[k] = cloneable(v) ? v : describe(v);
  const out: SerializedError = { ...s, props };
  if (s.cause !== undefined) out.cause = 'kind' in s.cause ? makeCloneable(s.cause) : { value: cloneable(s.cause.value) ? s.cause.value : describe(s.cause.value) };
  if (s.errors !== undefined) out.errors = s.errors.map((x) => ('kind' in x ? makeCloneable(x) : { value: cloneable(x.value) ? x.value : describe(x.value) }));
  if ('value' in s && !cloneable(s.value)) out.value = describe(s.value);
  return out;
}

function cloneable(v: unknown): boolean {
  try {
    structuredClone(v);
    return true;
  } catch {
    return false;
  }
}

function describe(v: unknown): string {
  try {
    return typeof v === 'symbol' ? v.toString() : String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/** Rebuilds an Error of the same built-in class, name, message, code, props, cause and stack. */
export function deserializeError(s: SerializedError): unknown {
  if (s.kind === undefined) return s.value;
  let e: Error;
  if (s.kind === 'DOMException') {
    e = new DOMException(s.message, s.name);
  } else if (s.kind === 'AggregateError') {
    e = new AggregateError((s.errors ?? []).map(revive), s.message);
  } else {
    const Ctor = (globalThis as unknown as Record<string, ErrorConstructor>)[s.kind]!;
    e = new Ctor(s.message);
  }
  if (e.name !== s.name) Object.defineProperty(e, 'name', { value: s.name, writable: true, configurable: true, enumerable: false });
  if (s.cause !== undefined) Object.defineProperty(e, 'cause', { value: revive(s.cause), writable: true, configurable: true, enumerable: false });
  for (const [k, v] of Object.entries(s.props)) {
    try {
      (e as unknown as Record<string, unknown>)[k] = v;
    } catch {
      // a read-only property on the rebuilt class (DOMException.code): keep the native one
    }
  }
  if (s.stack !== undefined) Object.defineProperty(e, 'stack', { value: s.stack, writable: true, configurable: true, enumerable: false });
  return e;
}

function revive(x: SerializedError | { value: unknown }): unknown {
  return 'kind' in x ? deserializeError(x) : x.value;
}
