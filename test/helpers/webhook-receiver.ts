/** A real webhook receiver on 127.0.0.1 that records what it receives and can fail on purpose. */
import * as http from 'http';
import { AddressInfo } from 'net';
import { AddressGuard } from '../../runtime/webhooks/address-guard';

export interface ReceivedWebhook {
  readonly path: string;
  readonly host?: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface WebhookReceiver {
  readonly port: number;
  /** `http://receiver.test:<port><path>`: a name the guard below resolves to 127.0.0.1 and allows. */
  url(path?: string): string;
  readonly received: ReceivedWebhook[];
  /** Answer 503 to the next `n` requests. */
  failNext(n: number): void;
  close(): Promise<void>;
}

/** The host name tests send webhooks to. */
export const RECEIVER_HOST = 'receiver.test';

/** Webhook settings under which receiver.test is 127.0.0.1, allowed by name as an admin would allow it. */
export const RECEIVER_WEBHOOKS = {
  allowedHosts: [RECEIVER_HOST],
  resolve: async (host: string) => (host === RECEIVER_HOST ? [{ address: '127.0.0.1', family: 4 }] : []),
};

/** A guard with RECEIVER_WEBHOOKS. */
export function receiverGuard(): AddressGuard {
  return new AddressGuard(RECEIVER_WEBHOOKS);
}

/**
 * Starts a receiver on 127.0.0.1, or with `anyAddress` on every local address (IPv4 and IPv6), for
 * a runtime process that resolves `localhost` itself and may connect to either.
 */
export async function startReceiver(options: { readonly anyAddress?: boolean } = {}): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let failing = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      received.push({ path: req.url ?? '', host: req.headers.host, headers, body });
      if (failing > 0) {
        failing--;
        res.writeHead(503).end('try later');
      } else {
        res.writeHead(204).end();
      }
    });
  });
  await new Promise<void>((resolve) => (options.anyAddress ? server.listen(0, resolve) : server.listen(0, '127.0.0.1', resolve)));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (path = '/hook') => `http://${RECEIVER_HOST}:${port}${path}`,
    received,
    failNext: (n) => (failing = n),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
