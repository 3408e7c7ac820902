/** End-to-end helpers: a fleet from the single-geo example's real synth, and an HTTP client. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'cdktf';
import { buildSingleGeo } from '../../examples/single-geo/main';
import { LocalFleet, LocalFleetOptions, localManifest, LocalManifestOptions, randomToken } from '../../runtime/cli/local-fleet';

let cached: unknown;

/**
 * The arguments of a runtime process whose files are in `dir`: fleet.json, tokens.json and ca.pem
 * (arm-sim's CA); on 127.0.0.1:`port`, with `store` (a SQLite file or a PostgreSQL URL), against
 * arm-sim at `armUrl`. Tests add their own settings after these.
 */
export function runtimeArgs(dir: string, options: { readonly store: string; readonly port: number; readonly armUrl: string }): string[] {
  return [
    '--manifest', path.join(dir, 'fleet.json'), '--store', options.store, '--port', String(options.port), '--host', '127.0.0.1',
    '--tokens-file', path.join(dir, 'tokens.json'), '--arm-endpoint', options.armUrl, '--arm-ca', path.join(dir, 'ca.pem'),
  ];
}

/** The single-geo example's fleet.json, written by a real synth (once per test file). */
export function synthesizedFleetJson(): unknown {
  if (!cached) {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-synth-'));
    const app = new App({ outdir, stackTraces: false });
    buildSingleGeo(app);
    app.synth();
    cached = JSON.parse(fs.readFileSync(path.join(outdir, 'stacks', 'demo', 'fleet.json'), 'utf8'));
  }
  return cached;
}

export const USERS = {
  admin: 'ops-admin',
  financeClerk: 'finance-clerk',
  financeLead: 'finance-lead',
  salesRep: 'sales-rep',
} as const;

export interface TestFleet {
  readonly fleet: LocalFleet;
  readonly tokens: Record<string, string>;
  readonly botTokens: Record<string, string>;
  /** Calls the API as a principal (default the environment admin). */
  api(method: string, route: string, body?: unknown, as?: string, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  stop(): Promise<void>;
}

export async function startTestFleet(
  manifestOptions: LocalManifestOptions = {},
  fleetOptions: Partial<Omit<LocalFleetOptions, 'manifest' | 'botTokens' | 'userTokens'>> = {},
): Promise<TestFleet> {
  const { manifest, botTokens } = localManifest(synthesizedFleetJson(), {
    ...manifestOptions,
    scaling: { heartbeatSeconds: 0.5, idleMinutes: 0.05, bootTimeoutMinutes: 0.5, ...manifestOptions.scaling },
  });
  const tokens = Object.fromEntries(Object.values(USERS).map((u) => [u, randomToken()]));
  const fleet = await LocalFleet.start({
    manifest,
    botTokens,
    userTokens: tokens,
    bootSeconds: 0.3,
    deleteSeconds: 0.1,
    operationSeconds: 0.1,
    tickMs: 200,
    backoffBaseMs: 500,
    claimWaitSeconds: 2,
    // Tests poll the API far faster than a user would; the limits have their own tests.
    limits: { userPerSecond: 100_000, userBurst: 100_000 },
    ...fleetOptions,
  });
  return {
    fleet,
    tokens,
    botTokens,
    async api(method, route, body, as = USERS.admin, headers = {}) {
      const send = () =>
        fetch(`${fleet.url}${route}`, {
          method,
          headers: { authorization: `Bearer ${tokens[as] ?? as}`, 'content-type': 'application/json', ...headers },
          body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        });
      // After a runtime restart, a pooled keep-alive connection may already be closed: send again.
      const response = await send().catch((err: Error & { cause?: { code?: string; name?: string } }) => {
        if (err.cause?.name === 'SocketError' || err.cause?.code === 'ECONNRESET') return send();
        throw err;
      });
      const text = await response.text();
      let parsed: any = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        /* not JSON */
      }
      return { status: response.status, body: parsed, headers: response.headers };
    },
    stop: () => fleet.stop(),
  };
}

/** Signs `who` in to the fleet's dashboard from its own sign-in page: the session cookie, and the CSRF token its forms carry. */
export async function dashboardSession(t: TestFleet, who: string): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${t.fleet.url}/signin`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.fleet.url },
    body: `token=${encodeURIComponent(t.tokens[who])}`,
  });
  const cookie = /hb_session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0];
  if (!cookie) throw new Error(`${who} could not sign in to the dashboard: ${res.status}`);
  const page = await (await fetch(`${t.fleet.url}/`, { headers: { cookie } })).text();
  return { cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '' };
}

/** Polls until `check` returns a truthy value, or fails with `what` after `ms`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, ms = 15_000, every = 50): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as T;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, every));
  }
}
