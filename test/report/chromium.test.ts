/**
 * The report page in a real browser: Debian's Chromium, driven by
 * playwright-core, opens report.html from a temp dir (file://) and the test
 * checks what a reader gets: charts drawn (canvas pixels), culprits listed,
 * hostile names shown as text with no script run and no dialog, no console
 * or page error, no CSP violation, no network request. Each run's files
 * (page, screenshot, Chromium's $HOME) stay in one temp dir, and the test
 * ends with a leak check: no Chromium process left. Skips when
 * /usr/bin/chromium is missing, unless LOOPWISE_REQUIRE_CHROMIUM=1 (CI),
 * where it fails.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import {
  HOSTILE_ARGV, HOSTILE_BLOCK, HOSTILE_FUNCTION, HOSTILE_TASK, HOSTILE_TEXT, HOSTILE_URL, hostileReport, renderReportHtml, sampleReport, type DoctorReport,
} from './report-fixtures.js';

const CHROMIUM = '/usr/bin/chromium';
const INSTALL = 'apt-get update && apt-get install -y chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** false (and the test skipped) when there is no Chromium and CI did not ask for one. */
function haveChromium(t: TestContext): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `${CHROMIUM} is missing: install Debian's chromium with \`${INSTALL}\``;
  if (process.env.LOOPWISE_REQUIRE_CHROMIUM === '1') assert.fail(`${message} (LOOPWISE_REQUIRE_CHROMIUM=1)`);
  t.skip(message);
  return false;
}

/** Fields of /proc/PID/stat after the command: [state, ppid, pgrp, ...]; undefined once it is gone. */
function procStat(pid: string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // it exited while we looked
  }
}

function livePids(): string[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name) && (procStat(name)?.[0] ?? 'Z') !== 'Z');
}

/**
 * Live (not zombie) processes that belong to a browser run: in the browser's
 * process group (Playwright starts Chromium as a group leader: zygotes,
 * renderers), or with the run's temp dir on their command line (the crash
 * handlers, which daemonise into their own session but keep their database
 * under $HOME, which the test points into that dir).
 */
function browserProcesses(pgid: number, dir: string): string[] {
  return livePids().filter((pid) => {
    if (Number(procStat(pid)?.[2]) === pgid) return true;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
    } catch {
      return false;
    }
  });
}

/** Live direct children of this process. */
function children(): number[] {
  return livePids().filter((pid) => Number(procStat(pid)?.[1]) === process.pid).map(Number);
}

interface Visit {
  page: Page;
  dir: string;
  errors: string[];
  dialogs: string[];
  requests: string[];
}

/**
 * Writes the report's page into `dir`, opens it from there, and waits for the
 * charts to be drawn. Every request that is not the page itself is recorded
 * and aborted; errors, console errors and dialogs are recorded.
 */
async function openReport(browser: Browser, dir: string, report: DoctorReport): Promise<Visit> {
  const file = join(dir, 'report.html');
  writeFileSync(file, renderReportHtml(report));
  const url = pathToFileURL(file).href;

  // Closed with the browser.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, javaScriptEnabled: true });
  const page = await context.newPage();
  const visit: Visit = { page, dir, errors: [], dialogs: [], requests: [] };
  page.on('pageerror', (e) => visit.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') visit.errors.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('dialog', (d) => {
    visit.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  page.on('request', (r) => {
    if (r.url() !== url) visit.requests.push(r.url());
  });
  await context.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort('blockedbyclient')));
  // Runs before the page's scripts, outside its CSP: records policy violations.
  // (Strings, not functions: this repo compiles without the DOM's types.)
  await page.addInitScript(`window.lwViolations = [];
    window.addEventListener('securitypolicyviolation', (e) => window.lwViolations.push(e.violatedDirective + ' ' + e.blockedURI));`);

  const response = await page.goto(url, { waitUntil: 'load' });
  assert.ok(response === null || response.ok(), 'the page loads');
  await page.waitForSelector('#lw-charts[data-ready="5"]');
  return visit;
}

/** For each chart canvas, how many pixels are not fully transparent. */
function paintedPixels(page: Page): Promise<number[]> {
  return page.$$eval('#lw-charts canvas', (canvases) =>
    canvases.map((c) => {
      const canvas = c as unknown as { width: number; height: number; getContext(k: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } };
      const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) n++;
      return n;
    }));
}

async function assertClean(page: Page, visit: Visit): Promise<void> {
  assert.deepEqual(visit.errors, [], 'no page error, console error or warning');
  assert.deepEqual(visit.dialogs, [], 'no alert or other dialog');
  assert.deepEqual(visit.requests, [], 'no request besides the page itself');
  assert.deepEqual(await page.evaluate('window.lwViolations'), [], 'no CSP violation');
}

/**
 * Runs `body` with a fresh Chromium and a fresh temp dir that holds
 * everything the run writes (the page, the screenshot, Chromium's $HOME with
 * its config and crash database); then closes the browser and checks that no
 * process of it is left.
 */
async function withBrowser(body: (browser: Browser, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'loopwise-report-'));
  const home = join(dir, 'home');
  mkdirSync(home);
  const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache') };
  const before = new Set(children());
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, env });
  const spawned = children().filter((p) => !before.has(p));
  assert.equal(spawned.length, 1, 'one Chromium process started');
  try {
    await body(browser, dir);
  } finally {
    await browser.close();
  }
  assert.deepEqual(children().filter((p) => !before.has(p)), [], 'no child process left');
  assert.deepEqual(browserProcesses(spawned[0]!, dir), [], 'no Chromium helper process left');
}

test('the sample report in Chromium: charts drawn, culprits listed, no error, no request; a screenshot', async (t) => {
  if (!haveChromium(t)) return;
  await withBrowser(async (browser, dir) => {
    const report = sampleReport();
    const visit = await openReport(browser, dir, report);
    const { page } = visit;

    const painted = await paintedPixels(page);
    assert.equal(painted.length, 5, 'five charts: delay, utilisation, memory, GC, tasks');
    for (const [i, n] of painted.entries()) assert.ok(n > 1000, `chart ${i} has ${n} painted pixels`);

    assert.equal(await page.textContent('#verdict h1'), 'Event loop blocked');
    const culprits = await page.$$eval('#culprits .culprit h3 .fn', (els) => els.map((e) => e.textContent));
    assert.deepEqual(culprits, report.culprits.map((c) => c.functionName));
    assert.equal(await page.locator('#running-blocks tbody tr').count(), 17);
    assert.equal(await page.locator('#startup-blocks tbody tr').count(), 3);
    assert.equal(await page.locator('#processes .process').count(), 2);

    // Several processes: a select switches the charts to the other one.
    const options = await page.$$eval('#lw-pid option', (els) => els.map((e) => e.textContent));
    assert.deepEqual(options, report.processes.map((p) => `pid ${p.pid}: ${p.argv.join(' ')}`));
    await page.selectOption('#lw-pid', String(report.processes[1]!.pid));
    await page.waitForSelector(`#lw-charts[data-pid="${report.processes[1]!.pid}"][data-ready="5"]`);
    for (const n of await paintedPixels(page)) assert.ok(n > 1000);
    await page.selectOption('#lw-pid', String(report.processes[0]!.pid));
    await page.waitForSelector(`#lw-charts[data-pid="${report.processes[0]!.pid}"][data-ready="5"]`);

    // Kept (with the page) for a human to look at; everything else of the run is in the same dir.
    const shot = join(visit.dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(readFileSync(shot).length > 10_000);
    t.diagnostic(`screenshot: ${shot}`);
    console.log(`report screenshot: ${shot}`);
    await assertClean(page, visit);
  });
});

test('hostile names in Chromium are shown as text: no script runs, no dialog, no element injected', async (t) => {
  if (!haveChromium(t)) return;
  await withBrowser(async (browser, dir) => {
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const report = hostileReport();
    const visit = await openReport(browser, dir, report);
    const { page } = visit;
    const shownUrl = HOSTILE_URL.slice('file://'.length);

    assert.equal(await page.evaluate('document.scripts.length'), 3, 'no script element was injected');
    assert.equal(await page.locator('img, svg, iframe, textarea, object, embed').count(), 0, 'no element was injected');
    assert.equal(await page.locator('[onerror], [onload], [onmouseover], [onfocus], [autofocus]').count(), 0);

    const fnNames = await page.$$eval('#culprits .culprit h3 .fn', (els) => els.map((e) => e.textContent));
    assert.deepEqual(fnNames, report.culprits.map(() => HOSTILE_FUNCTION));
    assert.equal(await page.textContent('#culprits .culprit .loc'), `${shownUrl}:${report.culprits[0]!.line}:${report.culprits[0]!.column}`);
    const tasks = await page.$$eval('#running-blocks .task', (els) => els.map((e) => e.textContent));
    assert.ok(tasks.length > 10 && tasks.every((s) => s === HOSTILE_TASK), 'every task cell shows the name as text');
    assert.equal(await page.textContent('#verdict .detail'), HOSTILE_TEXT);
    assert.deepEqual(await page.$$eval('#verdict .advice li', (els) => els.map((e) => e.textContent)), [HOSTILE_TASK, HOSTILE_FUNCTION]);
    assert.equal(await page.textContent('#summary .command'), HOSTILE_ARGV.join(' '));
    assert.equal(await page.textContent('#processes .process .argv'), HOSTILE_ARGV.join(' '));
    assert.ok((await page.title()).includes(HOSTILE_ARGV.join(' ')));
    assert.deepEqual(await page.$$eval('#lw-pid option', (els) => els.map((e) => e.textContent)), report.processes.map((p) => `pid ${p.pid}: ${HOSTILE_ARGV.join(' ')}`));

    // The script's own text path: hovering the long hostile block names it, as text.
    const box = (await page.locator('#lw-chart-0 .u-over').boundingBox())!;
    const main = report.processes[0]!.pid;
    const starts = [...report.timeline.filter((s) => s.pid === main).map((s) => s.t), ...report.blocks.filter((b) => b.pid === main).map((b) => b.startedAt)];
    const ends = [...report.timeline.filter((s) => s.pid === main).map((s) => s.t), ...report.blocks.filter((b) => b.pid === main).map((b) => b.startedAt + b.durationMs)];
    const [xmin, xmax] = [Math.min(...starts), Math.max(...ends)];
    const mid = HOSTILE_BLOCK.startedAt + HOSTILE_BLOCK.durationMs / 2;
    await page.mouse.move(box.x + (box.width * (mid - xmin)) / (xmax - xmin), box.y + box.height / 2);
    // (A selector, not waitForFunction: the page's CSP forbids the eval that uses.)
    await page.locator('#lw-block-detail:not(:empty)').waitFor();
    const detail = (await page.textContent('#lw-block-detail'))!;
    assert.ok(detail.startsWith('Block of 2.50 s at 14.00 s'), detail);
    assert.ok(detail.includes(`in ${HOSTILE_FUNCTION} ${shownUrl}:1:1`), detail);
    assert.ok(detail.endsWith(`, task ${HOSTILE_TASK}`), detail);
    assert.equal(await page.locator('#lw-block-detail *').count(), 0, 'the block line holds text only');

    await assertClean(page, visit);
  });
});
