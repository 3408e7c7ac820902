/**
 * A small JSON-over-HTTP(S) client on node:http with keep-alive connections. Agents call the
 * runtime several times per run; reusing connections this way costs a fraction of `fetch`.
 */
import * as http from 'http';
import * as https from 'https';

export interface HttpResponse {
  readonly status: number;
  readonly text: string;
}

export class HttpClient {
  private readonly agent: http.Agent;
  private readonly base: URL;

  constructor(baseUrl: string) {
    this.base = new URL(baseUrl);
    const options = { keepAlive: true, maxSockets: 8 };
    this.agent = this.base.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
  }

  request(method: string, path: string, body: unknown, headers: Record<string, string>, signal?: AbortSignal): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new Error('aborted'));
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const transport = this.base.protocol === 'https:' ? https : http;
      const req = transport.request(
        {
          protocol: this.base.protocol,
          hostname: this.base.hostname,
          port: this.base.port,
          path: `${this.base.pathname.replace(/\/$/, '')}${path}`,
          method,
          agent: this.agent,
          headers: {
            ...headers,
            ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            signal?.removeEventListener('abort', onAbort);
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', reject);
        },
      );
      const onAbort = () => req.destroy(new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err) => {
        signal?.removeEventListener('abort', onAbort);
        reject(err);
      });
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
