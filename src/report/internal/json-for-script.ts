/**
 * Serialises data for a `<script type="application/json">` data block, the
 * page's only channel from the report to its client-side script.
 *
 * The HTML parser ends a script element at the first `</script` whatever the
 * type, and `<!--` switches it into a state where `<script` nests, so a task
 * named `</script><script>alert(1)</script>` would otherwise leave the block
 * and run. Escaping every `<`, `>` and `&` as `\u003c`-style JSON escapes
 * keeps the text inert for the parser and identical for `JSON.parse`. U+2028
 * and U+2029 are escaped too: legal in JSON, but line terminators to older JS
 * engines and to anyone who pastes the block into a script.
 */

const ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/**
 * `JSON.stringify(value)` with `< > &` U+2028 U+2029 escaped, safe to place
 * verbatim between `<script type="application/json">` and `</script>`.
 *
 * @example
 * jsonForScript({ task: '</script>' }) // '{"task":"\\u003c/script\\u003e"}'
 */
export function jsonForScript(value: unknown): string {
  return (JSON.stringify(value) ?? 'null').replace(/[<>&\u2028\u2029]/g, (c) => ESCAPES[c]!);
}
