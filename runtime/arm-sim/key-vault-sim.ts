/**
 * A local HTTPS imitation of the Key Vault secret calls the runtime makes (get the latest version,
 * set a new one), for tests. Like arm-sim, it keeps the real client in the path: the SDK's
 * challenge-based bearer policy sends its first request without a token, gets the 401 challenge a
 * vault answers with, asks its credential for a token, and retries.
 *
 * Served (api-version required, any value; anything else is a 404 in Key Vault's error shape):
 *   GET /secrets/{name}[/{version}]   the latest (or that) version: { value, id, attributes, contentType? }
 *   PUT /secrets/{name}               { value, contentType? } sets a new version
 * Shapes follow the Key Vault REST reference (Get Secret, Set Secret: SecretBundle; errors:
 * { error: { code, message } } with SecretNotFound).
 */
import { randomBytes } from 'node:crypto';
import { createServer, Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SimCertificate, sharedSimCertificate } from './certificate';

interface SecretVersion {
  readonly version: string;
  readonly value: string;
  readonly contentType?: string;
  readonly created: number;
}

export interface KeyVaultSimStats {
  /** Requests answered 401 for want of a bearer token (the SDK's first, challenge-seeking request). */
  readonly challenges: number;
  readonly gets: number;
  readonly sets: number;
}

const MAX_BODY = 64 * 1024;

export class KeyVaultSim {
  private server?: Server;
  private baseUrl?: string;
  private readonly secrets = new Map<string, SecretVersion[]>();
  private counts = { challenges: 0, gets: 0, sets: 0 };
  /** Requests refused with 403, as a vault whose firewall or RBAC shuts the caller out. */
  private forbidden = false;

  constructor(private readonly options: { readonly certificate?: SimCertificate; readonly tenantId?: string } = {}) {}

  /** The vault URL to give the client, e.g. `https://127.0.0.1:43210/`; only after start(). */
  get url(): string {
    if (!this.baseUrl) throw new Error('KeyVaultSim: not started; call start() first');
    return this.baseUrl;
  }

  get stats(): KeyVaultSimStats {
    return { ...this.counts };
  }

  async start(): Promise<{ url: string; ca: string }> {
    if (this.server) throw new Error('KeyVaultSim: already started');
    const certificate = this.options.certificate ?? (await sharedSimCertificate());
    const server = createServer({ cert: certificate.cert, key: certificate.key }, (req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) send(res, 500, vaultError('InternalServerError', 'The key vault simulator failed to answer.'));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    return { url: this.baseUrl, ca: certificate.cert };
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** The latest value of a secret, as `az keyvault secret show` would give it. */
  secret(name: string): string | undefined {
    return this.secrets.get(name)?.at(-1)?.value;
  }

  /** Every version of a secret, oldest first. */
  versions(name: string): readonly string[] {
    return (this.secrets.get(name) ?? []).map((v) => v.value);
  }

  /** A new version, as an operator's `az keyvault secret set` would write it. */
  setSecret(name: string, value: string, contentType?: string): void {
    const versions = this.secrets.get(name) ?? [];
    versions.push({ version: randomBytes(16).toString('hex'), value, contentType, created: Math.floor(Date.now() / 1000) });
    this.secrets.set(name, versions);
  }

  /** Answer every authenticated request with 403 (a missing role, or the firewall), until called with false. */
  refuseAll(forbidden = true): void {
    this.forbidden = forbidden;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const body = await readBody(req);
    if (!/^Bearer \S+$/.test(req.headers.authorization ?? '')) {
      this.counts.challenges++;
      const tenant = this.options.tenantId ?? '00000000-0000-0000-0000-000000000000';
      return send(res, 401, vaultError('Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.'), {
        'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${tenant}", resource="https://vault.azure.net"`,
      });
    }
    if (!url.searchParams.get('api-version')) return send(res, 400, vaultError('BadParameter', 'The api-version query parameter is missing.'));
    if (this.forbidden) return send(res, 403, vaultError('Forbidden', 'Caller is not authorized to perform action on resource.'));
    const match = /^\/secrets\/([0-9a-zA-Z-]{1,127})(?:\/([0-9a-f]*))?\/?$/.exec(url.pathname);
    if (!match) return send(res, 404, vaultError('NotFound', `No operation at ${url.pathname}.`));
    const [, name, version] = match;
    if (req.method === 'GET') {
      this.counts.gets++;
      const versions = this.secrets.get(name) ?? [];
      const found = version ? versions.find((v) => v.version === version) : versions.at(-1);
      if (!found) return send(res, 404, vaultError('SecretNotFound', `A secret with (name/id) ${name} was not found in this key vault.`));
      return send(res, 200, this.bundle(name, found));
    }
    if (req.method === 'PUT' && !version) {
      let parsed: { value?: unknown; contentType?: unknown };
      try {
        parsed = JSON.parse(body);
      } catch {
        return send(res, 400, vaultError('BadParameter', 'The request body is not JSON.'));
      }
      if (typeof parsed.value !== 'string') return send(res, 400, vaultError('BadParameter', 'The secret value is missing.'));
      this.counts.sets++;
      this.setSecret(name, parsed.value, typeof parsed.contentType === 'string' ? parsed.contentType : undefined);
      return send(res, 200, this.bundle(name, this.secrets.get(name)!.at(-1)!));
    }
    return send(res, 405, vaultError('MethodNotAllowed', `${req.method} is not served at ${url.pathname}.`));
  }

  private bundle(name: string, v: SecretVersion) {
    return {
      value: v.value,
      id: `${this.url}secrets/${name}/${v.version}`,
      ...(v.contentType ? { contentType: v.contentType } : {}),
      attributes: { enabled: true, created: v.created, updated: v.created, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 7 },
    };
  }
}

function vaultError(code: string, message: string) {
  return { error: { code, message } };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
