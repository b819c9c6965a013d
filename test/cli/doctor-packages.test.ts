/**
 * `loopwise doctor` on a real target whose blocks are inside real npm
 * packages (test/fixtures/doctor/package-server.mjs): pure-JS bcrypt, a ReDoS
 * in a pinned vulnerable `ms`, a large markdown render with `marked`. Each
 * culprit is a frame in node_modules; its caller is the fixture's own
 * function, and the advice names that caller.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Culprit, DoctorReport } from '../../src/report/types.js';

const BIN = fileURLToPath(new URL('../../../dist/cli/bin.js', import.meta.url));
const FIXTURE = new URL('../../../test/fixtures/doctor/package-server.mjs', import.meta.url);

function run(t: { after(fn: () => void): void }): DoctorReport {
  const out = mkdtempSync(join(tmpdir(), 'loopwise-doctor-pkg-test-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const r = spawnSync(process.execPath, [BIN, 'doctor', '--out', out, '--threshold', '50', '--', process.execPath, fileURLToPath(FIXTURE)], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as DoctorReport;
}

let report: DoctorReport | undefined;
const once = (t: { after(fn: () => void): void }): DoctorReport => (report ??= run(t));

/** The culprits in the package, called from the fixture's function `caller`. */
function inPackage(r: DoctorReport, pkg: string, caller: string): Culprit[] {
  return r.culprits.filter((c) => c.url.includes(`/node_modules/${pkg}/`) && c.caller?.functionName === caller);
}

for (const [pkg, caller, advice] of [
  ['bcryptjs', 'hashPassword', /bcrypt hashing blocks the loop .*called from hashPassword \(.*package-server\.mjs:\d+\)/],
  // ms@0.7.0's parse() runs its regex on line 41: the advice says it backtracks.
  ['ms', 'parseDuration', /the regular expression in parse \(.*node_modules\/ms\/index\.js:\d+\), called from parseDuration \(.*package-server\.mjs:\d+\) backtracks/],
  ['marked', 'renderDocs', /called from renderDocs \(.*package-server\.mjs:\d+\)( is a package's synchronous work| backtracks)/],
] as [string, string, RegExp][]) {
  test(`a block inside ${pkg}: the culprit is in node_modules/${pkg}, its caller ${caller} in the program`, (t) => {
    const r = once(t);
    assert.equal(r.diagnosis.verdict, 'event-loop-blocked');
    const found = inPackage(r, pkg, caller);
    assert.ok(found.length > 0, `a ${pkg} culprit called from ${caller}: ${r.culprits.map((c) => `${c.functionName}@${c.url} < ${c.caller?.functionName}`).join(', ')}`);
    for (const c of found) {
      assert.equal(c.caller!.url, FIXTURE.href);
      assert.ok(c.caller!.line > 0);
      assert.ok(c.stack.some((f) => f.functionName === caller && f.url === FIXTURE.href), `${caller} on the culprit's stack`);
      assert.match(c.advice, advice);
      // A package's own `parse` is not JSON.parse.
      assert.doesNotMatch(c.advice, /large JSON/);
    }
    // The block itself carries the same caller.
    assert.ok(
      r.blocks.some((b) => b.phase === 'running' && b.caller?.functionName === caller && b.caller.url === FIXTURE.href && (b.culprit?.url.includes(`/node_modules/${pkg}/`) ?? false)),
      `a block whose culprit is in ${pkg} and whose caller is ${caller}`,
    );
  });
}
