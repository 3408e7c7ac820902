/**
 * A load-generating client for bench/runtime, run in its own process (child_process.fork) so
 * that the process under load is measured alone and the clients are not its bottleneck.
 *
 * Protocol over IPC: the parent sends a LoadConfig; the client opens its connections and answers
 * `ready`; on `go` it sends `requests` requests, `concurrency` at a time on keep-alive
 * connections, and answers `done` (or `error`, naming the request that failed). Not a user command.
 */
import * as http from 'http';

export interface LoadConfig {
  readonly kind: 'config';
  readonly url: string;
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string>>;
  readonly requests: number;
  readonly concurrency: number;
  /** The status every answer must have. */
  readonly status: number;
}

export type LoadMessage = { kind: 'ready' } | { kind: 'done'; requests: number; ms: number } | { kind: 'error'; message: string };

function send(message: LoadMessage): void {
  process.send!(message);
}

function request(agent: http.Agent, config: LoadConfig, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL(config.path, config.url),
      { method: config.method, agent, headers: { ...config.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode === config.status) resolve();
          else reject(new Error(`${config.method} ${config.path} answered ${res.statusCode}, expected ${config.status}: ${Buffer.concat(chunks).toString().slice(0, 200)}`));
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function run(config: LoadConfig): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: config.concurrency });
  const body = JSON.stringify(config.body);
  send({ kind: 'ready' });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  const started = performance.now();
  let sent = 0;
  await Promise.all(
    Array.from({ length: config.concurrency }, async () => {
      while (sent < config.requests) {
        sent++;
        await request(agent, config, body);
      }
    }),
  );
  send({ kind: 'done', requests: config.requests, ms: performance.now() - started });
  agent.destroy();
}

if (require.main === module && process.send) {
  process.once('message', (config: LoadConfig) => {
    run(config).then(
      () => process.disconnect(),
      (err: Error) => {
        send({ kind: 'error', message: err.message });
        process.disconnect();
      },
    );
  });
}
