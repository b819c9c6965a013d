/**
 * How the report page writes numbers, durations and frames as text. Shared
 * by the server-rendered sections so a duration reads the same everywhere.
 * Every function returns plain (unescaped) text: callers escape it once,
 * with `escapeHtml`, where it meets markup. Numbers are checked, not trusted:
 * a report is data from disk and a NaN or a string must print as a dash,
 * not as `NaN ms`.
 */
import type { ReportFrame } from '../types.js';

function finite(n: unknown): number | undefined {
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

/** `840 ms`, `1.24 s`, `2 min 05 s`; a dash for a non-number. */
export function formatMs(ms: unknown): string {
  const v = finite(ms);
  if (v === undefined) return '—';
  if (v < 1) return `${v.toFixed(2)} ms`;
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(v < 10_000 ? 2 : 1)} s`;
  const min = Math.floor(v / 60_000);
  const s = Math.round((v % 60_000) / 1000);
  return `${min} min ${String(s).padStart(2, '0')} s`;
}

/** A point on the run's clock (ms since start) as seconds: `12.35 s`. */
export function formatAt(ms: unknown): string {
  const v = finite(ms);
  return v === undefined ? '—' : `${(v / 1000).toFixed(2)} s`;
}

/** A 0..1 fraction as a percentage: `73 %`. */
export function formatPercent(fraction: unknown): string {
  const v = finite(fraction);
  return v === undefined ? '—' : `${Math.round(v * 100)} %`;
}

/** An integer count; a dash for a non-number. */
export function formatCount(n: unknown): string {
  const v = finite(n);
  return v === undefined ? '—' : String(Math.round(v));
}

/** `word`, or `words` when n is not 1. */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${formatCount(n)} ${n === 1 ? word : many}`;
}

/** A url for reading: `file://` dropped, an empty url (native code) named. */
export function displayUrl(url: unknown): string {
  if (typeof url !== 'string' || url === '') return '(native)';
  return url.startsWith('file://') ? url.slice('file://'.length) : url;
}

/** `path/to/file.js:42:7`. */
export function frameLocation(frame: ReportFrame): string {
  const url = displayUrl(frame.url);
  if (url === '(native)') return url;
  return `${url}:${formatCount(frame.line)}:${formatCount(frame.column)}`;
}

/** A function name for reading: anonymous functions are named as such. */
export function displayName(name: unknown): string {
  return typeof name === 'string' && name !== '' ? name : '(anonymous)';
}

/** True for frames that are not the program's own code: Node's internals, packages, native code. */
export function isLibraryFrame(frame: ReportFrame): boolean {
  const url = typeof frame.url === 'string' ? frame.url : '';
  return url === '' || url.startsWith('node:') || /[\\/]node_modules[\\/]/.test(url);
}

/** The npm package a url is in (`bcryptjs`, `@scope/name`), from its last node_modules segment. */
export function packageOf(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  const m = /.*[\\/]node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(url);
  return m ? m[1]!.replace(/\\/g, '/') : undefined;
}
