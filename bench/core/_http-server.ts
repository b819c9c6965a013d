/**
 * The local endpoint of scenario 6: replies 'ok' 100 ms after each request,
 * on 127.0.0.1 only. Started with fork() by http.bench; reports its port over
 * IPC, and exits when its parent goes away or after 2 minutes in any case.
 */
import http from 'node:http';

const server = http.createServer((_req, res) => {
  setTimeout(() => res.end('ok'), 100);
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.send!({ port: typeof a === 'object' && a !== null ? a.port : 0 });
});
process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(0), 120_000).unref();
