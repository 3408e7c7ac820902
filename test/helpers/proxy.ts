/**
 * A round-robin HTTP proxy in front of several runtime replicas, standing in for the load
 * balancer of a deployment: a replica that refuses connections is skipped.
 */
import * as http from 'http';
import { AddressInfo } from 'net';

export interface ReplicaProxy {
  readonly url: string;
  /** Requests forwarded to each upstream port. */
  readonly forwarded: Map<number, number>;
  close(): Promise<void>;
}

export async function startProxy(upstreamPorts: readonly number[]): Promise<ReplicaProxy> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const forwarded = new Map<number, number>();
  let next = 0;
  const downUntil = new Map<number, number>();
  /** The next upstream in turn, skipping those that refused a connection in the last second. */
  const pick = () => {
    for (let i = 0; i < upstreamPorts.length; i++) {
      const port = upstreamPorts[next++ % upstreamPorts.length];
      if ((downUntil.get(port) ?? 0) < Date.now()) return port;
    }
    return upstreamPorts[next++ % upstreamPorts.length];
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const attempt = (tries: number) => {
        const port = pick();
        const upstream = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers, agent }, (up) => {
          forwarded.set(port, (forwarded.get(port) ?? 0) + 1);
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        });
        upstream.on('error', (err: NodeJS.ErrnoException) => {
          if (err.code === 'ECONNREFUSED') downUntil.set(port, Date.now() + 1000);
          if (res.headersSent) res.destroy();
          else if (tries + 1 < upstreamPorts.length * 2) attempt(tries + 1);
          else res.writeHead(502).end();
        });
        upstream.end(body);
      };
      attempt(0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    forwarded,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
