/**
 * The tour behind `npm run demo`: the scenarios of the asyncio-vs-Node article
 * (shared/SEED-asyncio-vs-node-event-loop.txt), run in Node with loopwise.
 *
 *   1. a slow operation cancelled cleanly, `finally` running (asyncio.wait_for
 *      and task.cancel()), with no AbortSignal threaded by hand;
 *   2. 100 concurrent requests to a local 100 ms endpoint with `map` and
 *      `gather`, 10 sequential ones, and a request cut off by a timeout;
 *   3. a group whose failing child cancels its siblings;
 *   4. a live task tree while named tasks wait on sleep/Lock/Event/Queue.
 *
 * Everything runs in this process: the HTTP server listens on 127.0.0.1 on a
 * free port and is closed at the end, so the process exits by itself.
 * Takes about 2 s. Timings printed here are wall-clock and vary by machine.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  allTasks,
  cancellable,
  currentTask,
  Event,
  formatTaskTree,
  gather,
  group,
  isCancelledError,
  Lock,
  map,
  now,
  Queue,
  scope,
  sleep,
  spawn,
  timeout,
} from 'loopwise';
import { monitorTour } from './tour-monitor.js';
import { workersTour } from './tour-workers.js';

const t0 = now();
const say = (line = ''): void => console.log(line);
const heading = (title: string): void => say(`\n== ${title} ==`);
const ms = (start: number): number => Math.round(now() - start);

/** Node timer handles alive right now (a leak check you can see). */
const liveTimers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

// ---------------------------------------------------------------------------
// 1. The seed's asyncio.wait_for example.

/** The seed's `slow_operation`: no signal parameter, no AbortController. */
async function slowOperation(label: string): Promise<string> {
  try {
    await sleep(30_000); // simulates slow I/O; a checkpoint
    return 'done';
  } finally {
    say(`  finally: ${label} cleaned up`);
  }
}

async function stepCancel(): Promise<void> {
  heading('1. A slow operation (sleep 30 s) cancelled cleanly');
  say('asyncio: await asyncio.wait_for(task, timeout=5.0) -> asyncio.TimeoutError, finally runs');
  say('loopwise: await timeout(200, () => slowOperation()) -- nothing threads a signal by hand');
  let start = now();
  try {
    await timeout(200, () => slowOperation('slowOperation under timeout(200)'));
  } catch (e) {
    const err = e as Error & { code?: string };
    say(`  caught ${err.name} (${err.code}): "${err.message}", ${ms(start)} ms after the call`);
  }

  say('asyncio: task.cancel(); await task -> CancelledError');
  say("loopwise: const task = spawn(slowOperation); task.cancel('no longer needed'); await task");
  const task = spawn(() => slowOperation(`task "slow-operation"`), { name: 'slow-operation' });
  await sleep(100);
  start = now();
  task.cancel('no longer needed');
  try {
    await task;
  } catch (e) {
    const err = e as Error & { code?: string };
    say(`  caught ${err.name} (${err.code}): ${err.message}; task.state = ${task.state}, ${ms(start)} ms after cancel()`);
  }
  say(`  the 30 s timers are gone: ${liveTimers()} Node timers alive`);
}

// ---------------------------------------------------------------------------
// 2. I/O concurrency against a local 100 ms endpoint.

interface Server {
  readonly base: string;
  readonly agent: http.Agent;
  /** Set when the server sees a client hang up before its answer. */
  readonly abortSeen: Event;
  aborted: number;
  close(): Promise<void>;
}

async function startServer(): Promise<Server> {
  const abortSeen = new Event();
  const state = { aborted: 0 };
  const server = http.createServer((req, res) => {
    const timer = setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ path: req.url }));
    }, 100);
    res.on('close', () => {
      clearTimeout(timer);
      if (!res.writableFinished) {
        state.aborted++;
        abortSeen.set();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  return {
    base: `http://127.0.0.1:${port}`,
    agent,
    abortSeen,
    get aborted() {
      return state.aborted;
    },
    close: () => {
      agent.destroy();
      server.closeAllConnections();
      return new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };
}

/** A plain node:http GET that stops when `signal` aborts (Node destroys the socket). */
function getJson(agent: http.Agent, url: string, signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('error', reject);
  });
}

async function stepConcurrency(srv: Server): Promise<void> {
  heading('2. I/O concurrency: a local endpoint that answers after 100 ms');
  say(`server on ${srv.base} (127.0.0.1, port 0), one keep-alive agent`);
  // `cancellable(fn)` hands fn the calling scope's signal and makes the wait a
  // checkpoint: whichever task, group or timeout runs this, cancelling it
  // destroys the socket, and the wait rejects with CancelledError at once
  // (node:http's own AbortError arrives later and is dropped). Still no
  // signal passed around by hand.
  const fetchItem = (id: number): Promise<unknown> =>
    cancellable((signal) => getJson(srv.agent, `${srv.base}/item/${id}`, signal));
  const ids = Array.from({ length: 100 }, (_, i) => i);

  let start = now();
  const viaMap = await map(ids, (id) => fetchItem(id));
  say(`map(100 ids, fetchItem): ${viaMap.length} responses in ${ms(start)} ms (opens 100 connections)`);

  start = now();
  const viaGather = await gather(ids.map((id) => () => fetchItem(id)));
  say(`gather(100 thunks):      ${viaGather.length} responses in ${ms(start)} ms (keep-alive reuse)`);
  say('  the seed: Node.js ~115 ms, Python asyncio ~120 ms, sequential ~10 000 ms for 100');

  start = now();
  const sequential: unknown[] = [];
  for (const id of ids.slice(0, 10)) sequential.push(await fetchItem(id));
  say(`sequential, 10 requests: ${sequential.length} responses in ${ms(start)} ms (~100 ms each)`);

  say('a request cut off by timeout(30): the signal reaches the socket');
  start = now();
  try {
    await timeout(30, () => fetchItem(999));
  } catch (e) {
    say(`  caught ${(e as Error).name} after ${ms(start)} ms`);
  }
  await timeout(1_000, () => srv.abortSeen.wait());
  say(`  the server saw the client hang up: ${srv.aborted} aborted request`);
}

// ---------------------------------------------------------------------------
// 3. Structured concurrency: a failing child cancels its siblings.

async function stepGroup(): Promise<void> {
  heading('3. A group whose failing child cancels its siblings');
  const start = now();
  const log: string[] = [];
  const note = (line: string): void => {
    log.push(`+${String(ms(start)).padStart(3)} ms  ${line}`);
  };
  const tasks: { name: string; state: string }[] = [];
  let outcome = '';
  try {
    await group(async (g) => {
      tasks.push(
        g.spawn(
          async () => {
            note('profile: started, loading for 300 ms');
            try {
              await sleep(300);
              note('profile: finished (never printed)');
            } finally {
              note('profile: finally ran');
            }
          },
          { name: 'profile' },
        ),
      );
      tasks.push(
        g.spawn(
          async () => {
            note('orders: started, fails after 50 ms');
            await sleep(50);
            note('orders: throwing Error("orders service returned 503")');
            throw new Error('orders service returned 503');
          },
          { name: 'orders' },
        ),
      );
      tasks.push(
        g.spawn(
          async () => {
            let polls = 0;
            try {
              for (;;) {
                await sleep(20);
                polls++;
              }
            } catch (e) {
              note(`poller: ${isCancelledError(e) ? 'CancelledError' : String(e)} after ${polls} polls`);
              throw e;
            }
          },
          { name: 'poller' },
        ),
      );
      note('body: spawned 3 children, waiting on sleep(1000)');
      await sleep(1_000);
      note('body: never reaches here');
    });
  } catch (e) {
    outcome = `group rejected after ${ms(start)} ms with ${(e as Error).name}: ${(e as Error).message}`;
  }
  say('log (ms since the group started):');
  for (const line of log) say(`  ${line}`);
  say(outcome);
  say(`children: ${tasks.map((t) => `${t.name}=${t.state}`).join(', ')}`);
}

// ---------------------------------------------------------------------------
// 4. A live task tree.

async function stepTree(): Promise<void> {
  heading('4. A live task tree (formatTaskTree)');
  const lock = new Lock();
  const ready = new Event();
  const jobs = new Queue<string>();
  const handled: string[] = [];
  await scope(async (s) => {
    await group(async (g) => {
      const poller = g.spawn(
        async () => {
          for (;;) await sleep(30_000);
        },
        { name: 'poller' },
      );
      g.spawn(
        async () => {
          using _held = await lock.acquire(); // released on every path
          await sleep(60_000);
        },
        { name: 'lock-holder' },
      );
      g.spawn(() => lock.run(() => 'never'), { name: 'lock-waiter' });
      g.spawn(() => ready.wait(), { name: 'ready-waiter' });
      g.spawn(
        async () => {
          for await (const job of jobs) handled.push(job);
        },
        { name: 'consumer' },
      );
      g.spawn(() => poller, { name: 'supervisor' });
      g.spawn(() => timeout(5_000, () => sleep(10_000)), { name: 'with-budget' });
      await jobs.put('job-1');
      await sleep(20);
      say(formatTaskTree());
      s.cancel('tour: step 4 done');
    });
  });
  const left = allTasks().map((t) => t.name);
  say(`after s.cancel(): the consumer had handled ${handled.join(', ')}; tasks still running: ${left.join(', ')} (the tour itself)`);
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  say(`loopwise tour on Node ${process.version}; running as task "${currentTask()?.name}"`);
  await stepCancel();
  const srv = await startServer();
  try {
    await stepConcurrency(srv);
  } finally {
    await srv.close();
  }
  await stepGroup();
  await stepTree();
  say();
  await workersTour(say, Number(process.env.LOOPWISE_TOUR_CPU_N ?? 150_000_000));
  say();
  await monitorTour(say);
  heading('done');
  say(`tour finished in ${ms(t0)} ms; the server and the pool are closed and no other task is left, so the process exits by itself`);
  say('Open the report above in a browser: the verdict, the charts, and each culprit with its stack and what to do.');
}

try {
  await spawn(main, { name: 'tour' });
} catch (e) {
  console.error('tour failed:', e);
  process.exitCode = 1;
}
