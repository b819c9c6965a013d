/**
 * The one HTML escape of the report page, for every piece of text the server
 * side writes into markup (element text and quoted attribute values alike).
 * Every string of a report is untrusted: a function name, a url, a task name
 * or an argv word may be `<img src=x onerror=alert(1)>`.
 *
 * Escaping all five of `& < > " '` makes one function safe in both places, so
 * no caller has to know which context it writes into (rejected: separate
 * text/attribute escapes, one of them sooner or later used in the wrong place).
 */

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Escapes `& < > " '` so the text renders as itself inside element content or
 * a quoted attribute value. Anything that is not a string is first made one
 * with `String()`, so a malformed report (a number where a name should be)
 * still cannot inject markup.
 *
 * @example
 * escapeHtml('<img src=x onerror=alert(1)>') // '&lt;img src=x onerror=alert(1)&gt;'
 */
export function escapeHtml(text: unknown): string {
  return String(text).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}
