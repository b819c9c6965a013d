/**
 * The bounded keep-alive load the monitor's HTTP benchmarks put on a server
 * on 127.0.0.1: `connections` sockets, one request in flight each, from a
 * minimal raw-socket client (node:net), far cheaper per request than
 * node:http's client, so that the server, not the client, is the
 * bottleneck. Responses are counted by their status line, across chunk
 * edges; the next request goes out at once. 5 s without a response ends the
 * process (exit 5), a socket error too (exit 4).
 */
import net from 'node:net';

const REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
const MARK = 'HTTP/1.1 200';

export interface Load {
  /** Responses so far. */
  readonly done: number;
  /** Closes the sockets and the stall check. */
  stop(): void;
}

export function keepAliveLoad(port: number, connections = 16): Load {
  let done = 0;
  let last = Date.now();
  const sockets: net.Socket[] = [];
  for (let c = 0; c < connections; c++) {
    const s = net.connect(port, '127.0.0.1');
    s.setNoDelay(true);
    s.setEncoding('latin1');
    let tail = '';
    s.on('data', (chunk: string) => {
      const text = tail + chunk;
      for (let i = text.indexOf(MARK); i !== -1; i = text.indexOf(MARK, i + MARK.length)) {
        done++;
        last = Date.now();
        s.write(REQUEST);
      }
      tail = text.slice(-(MARK.length - 1));
    });
    s.on('error', (e) => {
      console.error(e);
      process.exit(4);
    });
    s.write(REQUEST);
    sockets.push(s);
  }
  const stall = setInterval(() => {
    if (Date.now() - last > 5_000) {
      console.error('no response for 5 s');
      process.exit(5);
    }
  }, 1_000);
  return {
    get done() {
      return done;
    },
    stop() {
      clearInterval(stall);
      for (const s of sockets) s.destroy();
    },
  };
}
