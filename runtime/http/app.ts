/**
 * The HTTP front the API and the dashboard share: one Express app with the security headers, the
 * body parsers, the route table whose gates decide who may call each route (access.ts), the
 * dashboard's sessions, and at the end the 404 and the error answers. The server composes the
 * API and the dashboard on it; neither imports the other.
 */
import express, { NextFunction, Request, RequestHandler, Response } from 'express';
import type { FleetManifest } from '../config/manifest';
import { notFound, RuntimeError } from '../errors';
import type { Store } from '../store/types';
import { AccessPolicy, createRouteTable, RouteTable } from './access';
import type { Authenticator } from './auth';
import { MAX_URL_LENGTH, RateLimits, TooManyRequests } from './limits';
import { SessionStore } from './sessions';

export interface HttpAppOptions {
  readonly manifest: FleetManifest;
  /** Reads only: the run a policy names, and the bot a credential names. */
  readonly store: Pick<Store, 'getRun' | 'botByCredential'>;
  readonly auth: Authenticator;
  readonly now?: () => number;
  readonly log?: (event: string, fields?: Record<string, unknown>) => void;
  /** @default see RateLimits */
  readonly limits?: RateLimits;
  /** The token /metrics asks for, or where to read it as it changes. @default none: /metrics answers 404 */
  readonly metricsToken?: string | (() => string | undefined);
  /** Proxy hops whose X-Forwarded-* headers to believe. @default 0 */
  readonly trustProxy?: number;
  /** Counts a refusal of a request without a valid credential, per reason (the metric). @default none */
  readonly countRefusal?: (reason: string) => void;
}

/** Renders an error on a page path (not the API's): the dashboard's error page. */
export type PageErrorRenderer = (req: Request, res: Response, err: RuntimeError) => Promise<void>;

export interface HttpApp {
  readonly app: express.Express;
  /** Registers a route behind the gate of its access policy. */
  readonly route: RouteTable['route'];
  /** A handler from an async function whose rejection goes to the error answers. */
  readonly wrap: (fn: (req: Request, res: Response) => Promise<unknown>) => RequestHandler;
  readonly sessions: SessionStore;
  /** Long-polling claims one bot may hold open at once. */
  readonly claimsPerBot: number;
  /** Ends the app after the last route: 404 for any other path, then the error answers; errors on page paths go to `renderPage`. */
  finish(renderPage: PageErrorRenderer): void;
}

/** Request body limit for user routes; the agent's completion carries up to 64 KiB of output. */
export const BODY_LIMIT = '128kb';

/** The dashboard's forms: a sign-in token or a few fields with a CSRF token. */
export const FORM_LIMITS = { body: '16kb', fields: 20 } as const;

const isForm = (req: Request) => /^application\/x-www-form-urlencoded\b/i.test(String(req.headers['content-type'] ?? ''));

/**
 * The largest JSON answer the API sends. The views are built to stay far below it (lists carry no
 * run data); the cap is the backstop that keeps one request from costing the thread megabytes.
 */
export const MAX_ANSWER_BYTES = 256 * 1024;

/** What a request the body parsers refused is answered: not JSON, too large, unreadable. */
interface ParserRefusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

/** The answer to an error the body parsers raised, or undefined for any other error. */
function parserRefusal(err: unknown, req: Request): ParserRefusal | undefined {
  if (err instanceof RuntimeError) return undefined;
  const e = err as { type?: string; status?: number } | undefined;
  if (e?.type === 'entity.too.large') return { status: 413, code: 'body_too_large', message: `the request body is larger than ${isForm(req) ? FORM_LIMITS.body : BODY_LIMIT}` };
  if (e?.type === 'parameters.too.many') return { status: 413, code: 'body_too_large', message: `the form has more than ${FORM_LIMITS.fields} fields` };
  if (e?.type === 'entity.parse.failed') return { status: 400, code: 'invalid_json', message: 'the request body is not valid JSON' };
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return { status: e.status, code: 'bad_request', message: 'the request could not be read' };
  return undefined;
}

/**
 * The code of the answer to a request refused before any gate checked its credential: a URL too
 * long, or a body the parsers refused; undefined for any other error.
 */
function refusedBeforeGate(err: unknown, req: Request): string | undefined {
  if (err instanceof RuntimeError) return err.code === 'uri_too_long' ? err.code : undefined;
  return parserRefusal(err, req)?.code;
}

/** API paths answer JSON; the others are the dashboard's HTML pages. */
const isApiPath = (p: string) => p.startsWith('/v1/') || p === '/healthz' || p === '/metrics';

export function createHttpApp(options: HttpAppOptions): HttpApp {
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => undefined);
  const app = express();
  app.disable('x-powered-by');
  // Settings first: the router takes them when the first middleware is added.
  app.set('query parser', 'simple');
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.set('trust proxy', options.trustProxy ?? 0);
  app.use((_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` even on this
    // origin's own form posts, and sign-in checks Origin against login CSRF.
    res.setHeader('Referrer-Policy', 'same-origin');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Content-Security-Policy', "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
    // Browsers keep to HTTPS for this host once they have seen it over HTTPS (App Service terminates TLS).
    res.setHeader('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    next();
  });
  app.use((req: Request, res: Response, next: NextFunction) => {
    if (!isApiPath(req.path)) return next();
    // Answers hold runs and tokens' views: no cache, shared or private, keeps them.
    res.setHeader('Cache-Control', 'no-store');
    res.json = (body?: unknown) => {
      let text = JSON.stringify(body);
      if (Buffer.byteLength(text) > MAX_ANSWER_BYTES) {
        log('api.answer_too_large', { method: req.method, path: req.path, bytes: Buffer.byteLength(text) });
        res.status(500);
        text = JSON.stringify({ error: { code: 'answer_too_large', message: `the answer would exceed ${MAX_ANSWER_BYTES} bytes; ask for a smaller page` } });
      }
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      return res.send(text);
    };
    next();
  });
  app.use((req: Request, _res: Response, next: NextFunction) => {
    if (req.originalUrl.length > MAX_URL_LENGTH) return next(new RuntimeError(414, 'uri_too_long', `the URL is longer than ${MAX_URL_LENGTH} characters`));
    next();
  });
  // JSON for the API (whatever the content type says), form posts for the dashboard.
  app.use(express.json({ limit: BODY_LIMIT, strict: true, type: (req) => !isForm(req as Request) }));
  app.use(express.urlencoded({ extended: false, limit: FORM_LIMITS.body, parameterLimit: FORM_LIMITS.fields }));

  const wrap =
    (fn: (req: Request, res: Response) => Promise<unknown>) =>
    (req: Request, res: Response, next: NextFunction): void => {
      fn(req, res).catch(next);
    };

  const limits = { userPerSecond: 50, userBurst: 200, botPerSecond: 500, botBurst: 1000, claimsPerBot: 2, ...options.limits };
  const sessions = new SessionStore(now, (proof, at) => options.auth.principalOf(proof, at));
  const table = createRouteTable(app, { manifest: options.manifest, store: options.store, auth: options.auth, sessions, limits, now, metricsToken: options.metricsToken });
  // The router-walk test checks every route against this registry.
  (app as express.Express & { accessPolicies?: ReadonlyMap<string, AccessPolicy> }).accessPolicies = table.declared;

  const finish = (renderPage: PageErrorRenderer): void => {
    app.use((req: Request, _res: Response, next: NextFunction) => {
      next(notFound('route_not_found', `no route ${req.method} ${req.path}`));
    });

    // A request refused before any gate ran is counted when it carried no valid credential, as a
    // 401 is: a stranger's flood of bad bodies shows in the metric, a user's mistake does not.
    app.use((err: unknown, req: Request, _res: Response, next: NextFunction) => {
      const code = refusedBeforeGate(err, req);
      const count = options.countRefusal;
      // A gate that ran has authenticated the caller already.
      if (code === undefined || !count || req.principal) return next(err);
      table.carriesCredential(req).then(
        (carries) => {
          if (!carries) count(code);
          next(err);
        },
        () => next(err),
      );
    });

    app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
      if (res.headersSent) return;
      const e = err as { message?: string };
      const refused = parserRefusal(err, req);
      // Refused credentials are counted, not logged: a stranger decides how many there are.
      if (err instanceof RuntimeError && err.status === 401) options.countRefusal?.(err.code);
      if (err instanceof RuntimeError && !isApiPath(req.path)) {
        if (err instanceof TooManyRequests) res.setHeader('Retry-After', String(err.retryAfterSeconds));
        renderPage(req, res, err).catch(() => res.status(err.status).end());
      } else if (err instanceof RuntimeError) {
        if (err instanceof TooManyRequests) res.setHeader('Retry-After', String(err.retryAfterSeconds));
        res.status(err.status).json({ error: { code: err.code, message: err.message } });
      } else if (refused) {
        res.status(refused.status).json({ error: { code: refused.code, message: refused.message } });
      } else {
        log('api.error', { method: req.method, path: req.path, error: e?.message });
        res.status(500).json({ error: { code: 'internal', message: 'the runtime failed to handle this request; it is logged' } });
      }
    });
  };

  return { app, route: table.route, wrap, sessions, claimsPerBot: limits.claimsPerBot, finish };
}
