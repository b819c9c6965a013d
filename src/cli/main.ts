/**
 * The `loopwise` command: dispatches to one module per subcommand. Each
 * command exports `run(argv, io): Promise<number>` and never calls
 * process.exit itself, so tests run it in-process.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

const HELP = `loopwise: structured concurrency and event-loop diagnostics for Node.js

Examples:
  loopwise doctor -- node server.js            run a program, report what blocks its loop
  LOOPWISE_MONITOR=1 node --import loopwise/register app.js
  loopwise --version

Usage:
  loopwise <command> [options]

Commands:
  doctor -- <command...>   run a program and report what blocks its event loop
                           (loopwise doctor --help)

Options:
  -h, --help       show this help
  -v, --version    print the version

Library: import { spawn, group, timeout } from 'loopwise'  (see README.md)
`;

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function main(argv: string[], io: Io): Promise<number> {
  if (argv[0] === 'doctor') {
    const { run } = await import('./doctor.js');
    return run(argv.slice(1), io);
  }
  const cut = argv.indexOf('--');
  const own = cut === -1 ? argv : argv.slice(0, cut);
  let parsed;
  try {
    parsed = parseArgs({
      args: own,
      strict: true,
      allowPositionals: true,
      options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
    });
  } catch (e) {
    io.stderr.write(`loopwise: ${(e as Error).message}\nTry 'loopwise --help'.\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    io.stdout.write(`${version()}\n`);
    return 0;
  }
  if (values.help || positionals.length === 0) {
    io.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  io.stderr.write(`loopwise: unknown command '${positionals[0]}'\nTry 'loopwise --help'.\n`);
  return 2;
}
