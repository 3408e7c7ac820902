/**
 * The runtime's HTTP API, version 1, and the dashboard beside it. Every body is JSON; errors are
 * `{ error: { code, message } }`; every route but /healthz needs a token, checked by the gate of
 * the route's access policy (access.ts) before its handler runs; every input is validated with
 * zod before anything changes, and every change goes through the run queue.
 */
import type { Registry } from 'prom-client';
import express, { NextFunction, Request, RequestHandler, Response } from 'express';
import type { FleetManifest } from '../config/manifest';
import { notFound, RuntimeError } from '../errors';
import { RunQueue } from '../queue/queue';
import type { Scaler } from '../scaler/loop';
import type { Store } from '../store/types';
import { AccessPolicy, createRouteTable, RouteTable } from './access';
import { registerAdminRoutes } from './admin-routes';
import { registerAgentRoutes } from './agent-routes';
import { auditRecordView, registerAuditRoutes } from './audit-routes';
import type { AttestationTrust } from './attested-data';
import { Authenticator } from './auth';
import { MAX_URL_LENGTH, RateLimits, TooManyRequests } from './limits';
import { groupViews, registerUserRoutes } from './user-routes';
import { registerWebhookRoutes, webhookSection } from './webhook-routes';
import type { AddressGuard } from '../webhooks/address-guard';
import type { WebhookOutbox } from '../webhooks/outbox';
import { registerDashboard } from '../dashboard/routes';
import { SessionStore } from '../dashboard/sessions';

export type { AccessPolicy } from './access';
export { PAGE_LIMIT, QUEUE_VIEW_LIMIT, RECENT_VIEW_LIMIT } from './user-routes';

export interface ApiOptions {
  readonly manifest: FleetManifest;
  readonly store: Store;
  readonly queue: RunQueue;
  readonly scaler: Scaler;
  readonly auth: Authenticator;
  readonly now?: () => number;
  readonly log?: (event: string, fields?: Record<string, unknown>) => void;
  /** Boot time assumed for "about N minutes" until bots of the group have booted. @default 10 minutes */
  readonly expectedBootMs?: number;
  /** @default see RateLimits */
  readonly limits?: RateLimits;
  /** The agent bundle served to bots. @default none */
  readonly agentBundle?: string;
  /** /metrics, for holders of this token. @default off (404) */
  readonly metrics?: { readonly registry: Registry; readonly token: string | (() => string | undefined) };
  /** Proxy hops whose X-Forwarded-* headers to believe. @default 0 */
  readonly trustProxy?: number;
  /** Counts a refusal of a request without a valid credential, per reason (the metric). @default none */
  readonly countRefusal?: (reason: string) => void;
  /** What attested data is verified by, for groups whose bots register with it. @default none: such registrations are refused */
  readonly attestation?: AttestationTrust;
  /** Webhooks: the rules their URLs must meet, and the outbox that sends them. */
  readonly webhooks: { readonly guard: AddressGuard; readonly outbox: Pick<WebhookOutbox, 'subscriptionsChanged'> };
}

/** What the route modules register their routes with. */
export interface RouteContext extends Omit<ApiOptions, 'now' | 'log' | 'expectedBootMs' | 'limits'> {
  readonly route: RouteTable['route'];
  readonly wrap: (fn: (req: Request, res: Response) => Promise<unknown>) => RequestHandler;
  readonly now: () => number;
  readonly log: (event: string, fields?: Record<string, unknown>) => void;
  readonly expectedBootMs: number;
  /** Long-polling claims one bot may hold open at once. */
  readonly claimsPerBot: number;
}

/** Request body limit for user routes; the agent's completion carries up to 64 KiB of output. */
export const BODY_LIMIT = '128kb';

/**
 * The largest JSON answer the API sends. The views are built to stay far below it (lists carry no
 * run data); the cap is the backstop that keeps one request from costing the thread megabytes.
 */
export const MAX_ANSWER_BYTES = 256 * 1024;

/** API paths answer JSON; the others are the dashboard's HTML pages. */
const isApiPath = (p: string) => p.startsWith('/v1/') || p === '/healthz' || p === '/metrics';

export function createApi(options: ApiOptions): express.Express {
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
  app.use(express.json({ limit: BODY_LIMIT, strict: true, type: (req) => !/^application\/x-www-form-urlencoded\b/i.test(String(req.headers['content-type'] ?? '')) }));
  app.use(express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 }));

  const wrap =
    (fn: (req: Request, res: Response) => Promise<unknown>) =>
    (req: Request, res: Response, next: NextFunction): void => {
      fn(req, res).catch(next);
    };

  const limits = { userPerSecond: 50, userBurst: 200, botPerSecond: 500, botBurst: 1000, claimsPerBot: 2, ...options.limits };
  const sessions = new SessionStore(now, (proof, at) => options.auth.principalOf(proof, at));
  const table = createRouteTable(app, { manifest: options.manifest, store: options.store, auth: options.auth, sessions, limits, now, metricsToken: options.metrics?.token });
  // The router-walk test checks every route against this registry.
  (app as express.Express & { accessPolicies?: ReadonlyMap<string, AccessPolicy> }).accessPolicies = table.declared;

  const ctx: RouteContext = { ...options, route: table.route, wrap, now, log, expectedBootMs: options.expectedBootMs ?? 10 * 60_000, claimsPerBot: limits.claimsPerBot };
  const views = groupViews(ctx);
  registerAdminRoutes(ctx);
  registerUserRoutes(ctx, views);
  registerAgentRoutes(ctx);
  registerAuditRoutes(ctx);
  registerWebhookRoutes(ctx);
  const dashboard = registerDashboard({
    route: table.route,
    wrap,
    auth: options.auth,
    sessions,
    queue: options.queue,
    groupSummaries: views.groupSummaries,
    groupDetail: views.groupDetail,
    environmentView: views.environmentView,
    arrivals: (group, from, to) => options.store.arrivals(group, from, to),
    groupSamples: (group, from, to) => options.store.groupSamples(group, from, to),
    auditRecords: async (group, limit) => (await options.store.auditRecords({ group, limit })).map(auditRecordView),
    webhooks: (group) => webhookSection(options.store, group),
    log,
    countRefusal: options.countRefusal,
    now,
  });

  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(notFound('route_not_found', `no route ${req.method} ${req.path}`));
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return;
    const e = err as { type?: string; status?: number; message?: string };
    // Refused credentials are counted, not logged: a stranger decides how many there are.
    if (err instanceof RuntimeError && err.status === 401) options.countRefusal?.(err.code);
    if (err instanceof RuntimeError && !isApiPath(req.path)) {
      if (err instanceof TooManyRequests) res.setHeader('Retry-After', String(err.retryAfterSeconds));
      dashboard.renderError(req, res, err).catch(() => res.status(err.status).end());
    } else if (err instanceof RuntimeError) {
      if (err instanceof TooManyRequests) res.setHeader('Retry-After', String(err.retryAfterSeconds));
      res.status(err.status).json({ error: { code: err.code, message: err.message } });
    } else if (e?.type === 'entity.too.large') {
      res.status(413).json({ error: { code: 'body_too_large', message: `the request body is larger than ${BODY_LIMIT}` } });
    } else if (e?.type === 'entity.parse.failed') {
      res.status(400).json({ error: { code: 'invalid_json', message: 'the request body is not valid JSON' } });
    } else if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
      res.status(e.status).json({ error: { code: 'bad_request', message: 'the request could not be read' } });
    } else {
      log('api.error', { method: req.method, path: req.path, error: e?.message });
      res.status(500).json({ error: { code: 'internal', message: 'the runtime failed to handle this request; it is logged' } });
    }
  });

  return app;
}

