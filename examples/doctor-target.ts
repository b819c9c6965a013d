/**
 * The small service the tour runs under `loopwise doctor`: an HTTP server
 * on 127.0.0.1 with a login route that hashes synchronously and a report
 * route that renders in a JS loop, and a bounded client that calls them,
 * then closes the server so the program exits.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as pause } from 'node:timers/promises';
import { hashPasswords, renderReport } from './blocking-work.js';

// About 250 ms of hashing per login on this machine, whatever its speed.
const t0 = performance.now();
hashPasswords(1);
const HASHES = Math.max(2, Math.ceil(250 / Math.max(performance.now() - t0, 1)));

const server = http.createServer((req, res) => {
  if (req.url === '/login') hashPasswords(HASHES);
  if (req.url === '/report') renderReport(400_000);
  res.end('ok\n');
});

server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address() as AddressInfo;
  const get = (path: string) =>
    new Promise<void>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        res.resume();
        res.on('end', resolve);
      }).on('error', reject);
    });
  await pause(100); // start-up is over before the first request (the doctor reports start-up apart)
  for (const path of ['/login', '/health', '/report', '/login', '/health']) {
    await get(path);
    await pause(50);
  }
  server.close();
});
