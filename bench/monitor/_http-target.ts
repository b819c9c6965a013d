/**
 * The measured process of monitor-http.bench: an HTTP server on 127.0.0.1
 * under one monitoring set-up (argv[2], see _monitoring.ts). Each request
 * gets a ~1 KB JSON body serialised per request (a small, realistic
 * handler). Reports its port over IPC; answers `cpu` with its CPU time
 * (process.cpuUsage, µs); exits when its parent goes away, or after 3
 * minutes in any case.
 */
import http from 'node:http';
import { startMonitoring, type Monitoring } from './_monitoring.js';

const running = await startMonitoring(process.argv[2] as Monitoring);
const items = Array.from({ length: 20 }, (_, i) => ({ id: i, name: `item-${i}`, tags: ['a', 'b', 'c'], price: i * 1.5 }));
let served = 0;
const server = http.createServer((_req, res) => {
  const body = JSON.stringify({ n: served++, items });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.send!({ port: typeof a === 'object' && a !== null ? a.port : 0 });
});
process.on('message', (m: { type: string }) => {
  if (m.type === 'cpu') {
    const u = process.cpuUsage();
    process.send!({ type: 'cpu', us: u.user + u.system, served, ...running.blocks() });
  }
});
process.on('disconnect', () => {
  running.stop();
  process.exit(0);
});
setTimeout(() => process.exit(0), 180_000).unref();
