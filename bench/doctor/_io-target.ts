/**
 * The I/O-bound target of bench/doctor/overhead.bench.ts: an HTTP server on
 * 127.0.0.1 and a client making a bounded number of requests, 8 at a time,
 * each answered after a small file read. Writes its own wall time (ms) to
 * $LW_BENCH_OUT.
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request, createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { cpuNow, cpuSince } from './_cpu.js';

const dir = mkdtempSync(join(tmpdir(), 'loopwise-bench-io-'));
const file = join(dir, 'page.html');
writeFileSync(file, '<p>hello</p>\n'.repeat(200));

const server: Server = createServer(async (_req, res) => {
  res.end(await readFile(file));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const { port } = server.address() as AddressInfo;

const get = (): Promise<void> =>
  new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/' }, (res) => {
      res.resume();
      res.on('end', resolve);
    })
      .on('error', reject)
      .end();
  });

const total = Number(process.env.LW_BENCH_REQUESTS ?? 6_000);
let next = 0;
const t0 = performance.now();
const c0 = cpuNow();
await Promise.all(
  Array.from({ length: 8 }, async () => {
    while (next++ < total) await get();
  }),
);
const ms = performance.now() - t0;
server.close();
rmSync(dir, { recursive: true, force: true });
if (process.env.LW_BENCH_OUT) writeFileSync(process.env.LW_BENCH_OUT, JSON.stringify({ ms, ...cpuSince(c0) }));

