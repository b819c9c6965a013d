/** Code that blocks the event loop, for the tour's monitor and doctor steps. */
import { pbkdf2Sync } from 'node:crypto';

/** Hashes passwords the slow way: synchronously, on the main thread. */
export function hashPasswords(count: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) out.push(pbkdf2Sync(`password-${i}`, 'salt', 60_000, 32, 'sha256'));
  return out;
}

/** A JS loop that renders a report row by row: pure CPU on the main thread. */
export function renderReport(rows: number): string {
  let html = '';
  for (let i = 0; i < rows; i++) html += `<tr><td>${i}</td><td>${(i * 7919) % 104729}</td></tr>`;
  return html.length > 0 ? html.slice(0, 16) : '';
}
