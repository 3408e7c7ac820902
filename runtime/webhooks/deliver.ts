/**
 * One attempt to deliver a webhook: a POST with a time-out, to an address the guard checked. A 2xx
 * answer is a success; anything else is a failure to retry, a redirect included (it is never
 * followed: a public endpoint could otherwise send the request on to an internal one).
 */
import * as http from 'http';
import * as https from 'https';
import { AddressGuard, DestinationRefused } from './address-guard';

/** The most of a receiver's answer that is read (for the error text); the rest is dropped. */
const MAX_ANSWER_BYTES = 4096;

/** How long one attempt may take, connection to answer, unless told otherwise (README, "Notifications"). */
export const DEFAULT_TIMEOUT_MS = 10_000;

export interface WebhookRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export type AttemptResult =
  | { readonly ok: true; readonly status: number }
  /** `refused`: the destination rules refused the address; retried like any failure, since DNS may change. */
  | { readonly ok: false; readonly error: string; readonly status?: number; readonly refused?: boolean };

export interface DeliverOptions {
  readonly guard: AddressGuard;
  /** The whole attempt, connection to answer. @default DEFAULT_TIMEOUT_MS (10 s) */
  readonly timeoutMs?: number;
  /** A PEM CA to trust besides Node's roots, for a local receiver (tests only). @default Node's roots */
  readonly ca?: string;
}

export function deliver(request: WebhookRequest, options: DeliverOptions): Promise<AttemptResult> {
  let url: URL;
  try {
    url = options.guard.checkUrl(request.url);
  } catch (err) {
    return Promise.resolve({ ok: false, error: (err as Error).message, refused: true });
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const send = url.protocol === 'https:' ? https.request : http.request;
  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    const done = (result: AttemptResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const req = send(
      url,
      {
        method: 'POST',
        // A fresh connection per attempt, resolved and checked by the guard; no pooled socket to another address.
        agent: false,
        lookup: options.guard.lookup as unknown as http.RequestOptions['lookup'],
        ...(options.ca ? { ca: options.ca } : {}),
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(request.body)), 'user-agent': 'hosted-rpa-bots-webhooks', ...request.headers },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < MAX_ANSWER_BYTES) chunks.push(chunk.subarray(0, MAX_ANSWER_BYTES - size));
          size += chunk.length;
        });
        res.on('error', (err) => done({ ok: false, status, error: `the answer broke off: ${err.message}` }));
        res.on('end', () => {
          if (status >= 200 && status < 300) return done({ ok: true, status });
          if (status >= 300 && status < 400) {
            return done({ ok: false, status, error: `answered ${status}, a redirect${res.headers.location ? ` to ${res.headers.location}` : ''}; redirects are not followed: give the final URL` });
          }
          const text = Buffer.concat(chunks).toString('utf8').replace(/\s+/g, ' ').trim().slice(0, 200);
          done({ ok: false, status, error: `answered ${status}${text ? `: ${text}` : ''}` });
        });
      },
    );
    const timer = setTimeout(() => {
      done({ ok: false, error: `no answer within ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof DestinationRefused) return done({ ok: false, error: err.message, refused: true });
      done({ ok: false, error: `${err.code ? `${err.code}: ` : ''}${err.message}` });
    });
    req.end(request.body);
  });
}
