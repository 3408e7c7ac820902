/**
 * Runtimes in their own processes, as deployed: for the crash tests, the benchmarks and the
 * soak, which kill and restart them.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { redactText } from '../log';
import { stripAnsi } from './terminal';

/** A free TCP port on 127.0.0.1, for a runtime whose URL the agents must know before it starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `hosted-bots runtime` with these arguments and resolves once it listens. The runtime's
 * stderr (its log) is dropped unless `log` is given; `cli` runs another build's main.js (a
 * benchmark's baseline); `env` is set over this process's environment (an undefined value unsets
 * a variable), for the settings the runtime reads from there.
 */
export function startRuntimeProcess(
  args: readonly string[],
  options: { nodeOptions?: readonly string[]; log?: (line: string) => void; cli?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ChildProcess> {
  // Compiled, this file sits beside main.js; run from the sources (tests), use the build.
  const beside = path.join(__dirname, 'main.js');
  const cli = options.cli ?? (fs.existsSync(beside) ? beside : path.resolve(__dirname, '..', '..', 'dist', 'runtime', 'cli', 'main.js'));
  const env = options.env ? Object.fromEntries(Object.entries({ ...process.env, ...options.env }).filter(([, v]) => v !== undefined)) : process.env;
  const child = spawn(process.execPath, [...(options.nodeOptions ?? []), cli, 'runtime', ...args], { env, stdio: ['ignore', 'pipe', options.log ? 'pipe' : 'ignore'] });
  if (options.log) child.stderr!.on('data', (chunk: Buffer) => chunk.toString().split('\n').filter(Boolean).forEach(options.log!));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('"listening"')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`hosted-bots runtime exited with code ${code} before listening`)));
  });
}

/**
 * Calls `take` with each line a child's output stream writes, cleaned for a terminal and a log
 * (colour codes stripped, secrets masked, trailing space cut; blank lines skipped), as it arrives
 * with any line ending, and the last unterminated one when the stream ends.
 */
export function forEachOutputLine(stream: NodeJS.ReadableStream, take: (line: string) => void): void {
  let pending = '';
  const each = (line: string) => {
    const clean = redactText(stripAnsi(line)).trimEnd();
    if (clean.trim()) take(clean);
  };
  stream.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const parts = pending.split(/\r\n|\r|\n/);
    pending = parts.pop() ?? '';
    parts.forEach(each);
  });
  stream.on('end', () => pending && each(pending));
}
