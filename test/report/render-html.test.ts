import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  HOSTILE_FUNCTION, HOSTILE_STRINGS, HOSTILE_TASK, HOSTILE_URL, healthyReport, hostileReport, largeReport, renderReportHtml, sampleReport,
} from './report-fixtures.js';

const { escapeHtml } = (await import(new URL('../../../dist/report/internal/escape-html.js', import.meta.url).href)) as typeof import('../../dist/report/internal/escape-html.js');
const { jsonForScript } = (await import(new URL('../../../dist/report/internal/json-for-script.js', import.meta.url).href)) as typeof import('../../dist/report/internal/json-for-script.js');

/** The contents of every `<tag …>…</tag>` element, in order, with its attributes. */
function elements(html: string, tag: string): { attrs: string; body: string }[] {
  return [...html.matchAll(new RegExp(`<${tag}(\\s[^>]*)?>([^]*?)</${tag}>`, 'g'))].map((m) => ({ attrs: m[1] ?? '', body: m[2]! }));
}

function dataBlock(html: string): unknown {
  const block = elements(html, 'script').find((s) => s.attrs.includes('application/json'));
  assert.ok(block, 'a JSON data block');
  return JSON.parse(block.body);
}

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

test('escapeHtml escapes & < > " \' and only those', () => {
  assert.equal(escapeHtml(`<a href="x" title='y'>&amp;</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
  assert.equal(escapeHtml('plain text, é, \u2028'), 'plain text, é, \u2028');
  assert.equal(escapeHtml(42), '42');
  assert.equal(escapeHtml(undefined), 'undefined');
});

test('jsonForScript escapes < > & U+2028 U+2029 and still parses back to the same value', () => {
  const value = { task: HOSTILE_TASK, fn: HOSTILE_FUNCTION, url: HOSTILE_URL, amp: 'a&b', n: [1, 2.5, null] };
  const json = jsonForScript(value);
  assert.doesNotMatch(json, /[<>&\u2028\u2029]/);
  assert.match(json, /\\u003c\/script\\u003e/);
  assert.deepEqual(JSON.parse(json), value);
  assert.equal(jsonForScript(undefined), 'null');
});

test('the sample report renders one self-contained page: no URL, no external resource, a hash CSP matching its inline code', () => {
  const html = renderReportHtml(sampleReport());
  assert.match(html, /^<!doctype html>\n<html lang="en">/);
  assert.doesNotMatch(html, /https?:\/\//i, 'no http(s) URL anywhere, not even in a comment');
  assert.doesNotMatch(html, /<link\b|<img\b|<iframe\b|\ssrc=|\shref=|@import|url\(/i, 'nothing that loads a resource');

  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html);
  assert.ok(csp, 'a CSP meta tag');
  assert.ok(html.indexOf(csp[0]) < html.indexOf('<style'), 'the CSP comes before any style or script');
  const policy = csp[1]!.replace(/&#39;/g, "'");
  assert.match(policy, /^default-src 'none'; /);
  assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval|\*|http/);
  const sha = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
  const scripts = elements(html, 'script').filter((s) => s.attrs === '');
  const styles = elements(html, 'style');
  assert.equal(scripts.length, 2, 'uPlot and the page script');
  assert.equal(styles.length, 2, "uPlot's stylesheet and the page's");
  assert.equal(/script-src ([^;]+)/.exec(policy)![1], scripts.map((s) => sha(s.body)).join(' '));
  assert.equal(/style-src ([^;]+)/.exec(policy)![1], styles.map((s) => sha(s.body)).join(' '));
  assert.match(scripts[0]!.body, /var uPlot=function/, 'uPlot is inlined');
  assert.doesNotMatch(html, /\sstyle=/, 'no style attribute: the CSP would block it');
});

test('the sample report shows the verdict, the summary, culprits, running and start-up blocks and both processes', () => {
  const report = sampleReport();
  const html = renderReportHtml(report);
  assert.match(html, /<header class="verdict verdict-event-loop-blocked" id="verdict">/);
  assert.match(html, /<h1>Event loop blocked<\/h1>/);
  assert.match(html, /<code class="command">node src\/server.js --port 8080<\/code>/);
  assert.match(html, /<span>2 processes<\/span>/);
  assert.match(html, /<span>20 blocks \(17 running, 3 start-up\)<\/span>/);
  assert.match(html, /worst <strong>884 ms<\/strong> in <code>renderLines<\/code>/);
  for (const advice of report.diagnosis.advice) assert.ok(html.includes(`<li>${escapeHtml(advice)}</li>`), advice);

  const culprits = [...html.matchAll(/<article class="culprit" id="culprit-(\d+)">\n<h3><span class="rank">\d+<\/span> <code class="fn">([^<]*)<\/code>/g)].map((m) => m[2]);
  assert.deepEqual(culprits, ['_crypt', 'renderLines', 'decodeScan', 'parse']);
  assert.match(html, /<span class="pkg">bcryptjs<\/span>/);
  assert.match(html, /Called from <code class="fn">login<\/code> <span class="loc">\/srv\/shop\/src\/routes\/auth.js:42:27<\/span>/);
  assert.match(html, /<li class="lib"><code class="fn">emit<\/code> <span class="loc">node:events:519:28<\/span><\/li>/, 'node: frames dimmed');
  assert.match(html, /<li><code class="fn">login<\/code>/, 'own frames not dimmed');

  const running = /<table class="blocks" id="running-blocks">([^]*?)<\/table>/.exec(html)![1]!;
  const startup = /<table class="blocks" id="startup-blocks">([^]*?)<\/table>/.exec(html)![1]!;
  assert.equal(count(running, '<tr'), 1 + 17);
  assert.equal(count(startup, '<tr'), 1 + 3);
  assert.match(startup, /loadCatalog/);
  assert.doesNotMatch(running, /loadCatalog/, 'start-up blocks stay out of the running table');
  assert.equal(count(html, '<article class="process"'), 2);
  assert.match(html, /killed by SIGTERM/);

  const data = dataBlock(html) as { defaultPid: number; timeline: unknown[]; blocks: unknown[]; processes: unknown[] };
  assert.equal(data.defaultPid, 41210, 'charts open on the process with the most blocked time');
  assert.equal(data.timeline.length, 120);
  assert.equal(data.blocks.length, 20);
});

test('hostile strings in every field come out escaped: no raw markup, no extra script, the data block parses back to them', () => {
  const html = renderReportHtml(hostileReport());
  const block = elements(html, 'script').find((s) => s.attrs.includes('application/json'))!.body;
  assert.doesNotMatch(block, /[<>&\u2028\u2029]/, 'the data block holds no character the HTML parser acts on');
  const markup = html.replace(block, '');
  for (const s of HOSTILE_STRINGS) {
    assert.ok(!markup.includes(s), `raw ${JSON.stringify(s)} in the page's markup`);
  }
  assert.equal(count(html, '<script'), 3, 'only the data block, uPlot and the page script');
  assert.equal(count(html, '</script>'), 3, 'no </script> from the data');
  assert.equal(count(html, '<style'), 2);
  assert.equal(count(html, '</style>'), 2);
  assert.doesNotMatch(html, /<img|<svg|<!--|<textarea/i);
  const tags = html.replace(/<(script|style)[^>]*>[^]*?<\/\1>/g, '').match(/<[a-z][^>]*>/gi) ?? [];
  assert.ok(tags.length > 100);
  for (const tag of tags) assert.doesNotMatch(tag, /\son\w+\s*=|\sautofocus/i, `an event-handler attribute in ${tag}`);
  assert.ok(html.includes(escapeHtml(HOSTILE_FUNCTION)), 'the function name is there, as text');
  assert.ok(html.includes(`<code class="task">${escapeHtml(HOSTILE_TASK)}</code>`), 'the task name is there, as text');
  assert.ok(html.includes('x&amp;amp;y'), 'an entity in the data stays literal');

  const data = JSON.stringify(dataBlock(html));
  assert.ok(data.includes(JSON.stringify(HOSTILE_TASK).slice(1, -1)), 'the data block round-trips the task name');
  assert.ok(data.includes(JSON.stringify(HOSTILE_FUNCTION).slice(1, -1)));
});

test('an unknown verdict or attribution never reaches a class attribute', () => {
  const report = sampleReport();
  (report.diagnosis as { verdict: string }).verdict = '"><script>alert(1)</script>';
  (report.blocks[5] as { attribution: string }).attribution = '<b>x</b>';
  const html = renderReportHtml(report);
  assert.match(html, /<header class="verdict verdict-unknown" id="verdict">/);
  assert.match(html, /<body class="verdict-page-unknown">/);
  assert.ok(html.includes('<h1>&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</h1>'));
  assert.ok(html.includes('<td>&lt;b&gt;x&lt;/b&gt;</td>'));
  assert.equal(count(html, '<script'), 3);
});

test('a healthy run with no block renders: the verdict, empty sections said so, no processes section', () => {
  const html = renderReportHtml(healthyReport());
  assert.match(html, /<header class="verdict verdict-healthy" id="verdict">\n<p class="verdict-kind">loopwise doctor<\/p>\n<h1>Healthy<\/h1>/);
  assert.doesNotMatch(html, /<ol class="advice">/);
  assert.match(html, /<span>0 blocks<\/span>/);
  assert.match(html, /<span>no block<\/span>/);
  assert.match(html, /No running-phase block: nothing to blame\./);
  assert.match(html, /No block over the 50 ms threshold while the program ran\./);
  assert.match(html, /<section id="startup"><h2>Start-up blocks<\/h2>\n<p class="muted">None\.<\/p>/);
  assert.doesNotMatch(html, /<table/);
  assert.doesNotMatch(html, /id="processes"/);
  assert.match(html, /<span>1 process<\/span>/);
});

test('a report with no timeline and no process still renders', () => {
  const report = healthyReport();
  report.timeline = [];
  report.processes = [];
  const html = renderReportHtml(report);
  assert.match(html, /<h1>Healthy<\/h1>/);
  assert.equal((dataBlock(html) as { defaultPid: unknown }).defaultPid, null);
});

test('hundreds of blocks and culprits render: every block in the table, culprits past 20 folded', () => {
  const html = renderReportHtml(largeReport(600, 250));
  const running = /<table class="blocks" id="running-blocks">([^]*?)<\/table>/.exec(html)![1]!;
  assert.equal(count(running, '<tr'), 1 + 600);
  assert.equal(count(html, '<article class="culprit"'), 250);
  assert.match(html, /<details class="more"><summary>230 more culprits<\/summary>/);
  assert.equal(count(html, '<details class="stack-box" open>'), 3, 'only the first stacks open');
  assert.ok(html.length < 2_000_000, `page size ${html.length}`);
});

test('a crashed process and --max-block are shown in the header; rows over the bound are marked', () => {
  const report = sampleReport();
  report.processes[1]!.error = 'TypeError: Cannot read properties of undefined';
  report.maxBlockMs = 500;
  report.maxBlockExceeded = true;
  report.exitCode = 1;
  const html = renderReportHtml(report);
  assert.match(html, /<p class="gate">A block exceeded <code>--max-block 500 ms<\/code>: the doctor exits 1\.<\/p>/);
  assert.match(html, /<p class="crash">pid 41233 crashed: <code>TypeError: Cannot read properties of undefined<\/code><\/p>/);
  const over = count(html, '<tr class="over">');
  assert.equal(over, report.blocks.filter((b) => b.durationMs > 500).length);
  assert.ok(over > 0);
});
