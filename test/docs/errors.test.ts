/**
 * docs/errors.md and the source must list the same codes (as fastify's
 * test/internals/errors.test.js does). Every `LOOPWISE_…` name in src/ is
 * either an error or warning code, documented under its own heading in
 * docs/errors.md, or an environment variable, listed in that page's
 * "Environment variables" section. A new code without docs, or docs for a
 * code that no longer exists, fails here.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const srcDir = fileURLToPath(new URL('../../../src/', import.meta.url));
const docPath = fileURLToPath(new URL('../../../docs/errors.md', import.meta.url));

// A name ends with a letter or digit: `LOOPWISE_INVALID_ARG_*` in a comment
// stands for the two INVALID_ARG codes and is not a name itself.
const NAME = /\bLOOPWISE_[A-Z0-9_]*[A-Z0-9]\b/g;

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) tsFiles(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

function namesInSource(): Map<string, string> {
  const where = new Map<string, string>();
  for (const file of tsFiles(srcDir)) {
    for (const m of readFileSync(file, 'utf8').matchAll(NAME)) {
      if (!where.has(m[0])) where.set(m[0], file.slice(srcDir.length));
    }
  }
  return where;
}

interface DocNames {
  codes: string[];
  envVars: string[];
}

function namesInDocs(): DocNames {
  const codes: string[] = [];
  const envVars: string[] = [];
  let section = '';
  for (const line of readFileSync(docPath, 'utf8').split('\n')) {
    const h2 = /^## (.*)/.exec(line);
    if (h2) section = h2[1]!;
    // A code is documented by a heading of its own: "### `LOOPWISE_TIMEOUT` — TimeoutError".
    const h = /^#{2,4} `(LOOPWISE_[A-Z0-9_]+)`/.exec(line);
    if (h) codes.push(h[1]!);
    // Environment variables are bullets of the "Environment variables" section.
    const env = /^- `(LOOPWISE_[A-Z0-9_]+)`/.exec(line);
    if (env && section.startsWith('Environment variables')) envVars.push(env[1]!);
  }
  return { codes, envVars };
}

test('docs/errors.md documents exactly the LOOPWISE_ codes used in src/', () => {
  const src = namesInSource();
  const { codes, envVars } = namesInDocs();
  assert.ok(src.size > 0 && codes.length > 0, 'found names on both sides');
  assert.deepEqual(codes.filter((c, i) => codes.indexOf(c) !== i), [], 'a code documented twice');
  assert.deepEqual(codes.filter((c) => envVars.includes(c)), [], 'a name listed both as a code and as an environment variable');

  const documented = new Set([...codes, ...envVars]);
  const undocumented = [...src.keys()].filter((n) => !documented.has(n)).map((n) => `${n} (first seen in src/${src.get(n)})`);
  const stale = [...documented].filter((n) => !src.has(n));
  assert.deepEqual(undocumented, [], 'codes used in src/ but missing from docs/errors.md');
  assert.deepEqual(stale, [], 'codes in docs/errors.md that src/ no longer uses');
});

test('the core codes of the public API are among them', () => {
  const { codes } = namesInDocs();
  for (const c of [
    'LOOPWISE_CANCELLED',
    'LOOPWISE_TIMEOUT',
    'LOOPWISE_GROUP_CLOSED',
    'LOOPWISE_QUEUE_CLOSED',
    'LOOPWISE_NOT_ACQUIRED',
    'LOOPWISE_INVALID_ARG_TYPE',
    'LOOPWISE_INVALID_ARG_VALUE',
    'LOOPWISE_CLOCK_INSTALLED',
    'LOOPWISE_CANCEL_IGNORED',
  ]) {
    assert.ok(codes.includes(c), `${c} has a section in docs/errors.md`);
  }
});
