/**
 * The runtime's HTTP API, version 1 (DESIGN.md §6). Every body is JSON; errors are
 * `{ error: { code, message } }`; every route but /healthz needs a bearer token; every input is
 * validated with zod before anything changes.
 */
import { createHash, randomBytes, timingSafeEqual } from 'crypto';
import * as fs from 'fs';
import type { Registry } from 'prom-client';
import * as path from 'path';
import express, { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import type { FleetManifest, ManifestGroup } from '../config/manifest';
import { badRequest, forbidden, notFound, RuntimeError, unauthorized } from '../errors';
import { MAX_CLAIM_WAIT_MS, RunQueue } from '../queue/queue';
import type { Scaler } from '../scaler/loop';
import { imageKeyOf } from '../scaler/loop';
import type { Store } from '../store/types';
import type { Bot } from '../domain/bot';
import type { Run, RunListing } from '../domain/run';
import { PRIORITIES, RUN_STATES, RunState } from '../domain/run';
import { BOT_CREDENTIAL_HEADER, MAX_OUTPUT_BYTES } from '../agent/agent';
import { Access, accessTo, Authenticator, canManage, canSeeRun, Principal } from './auth';
import { COST, MAX_URL_LENGTH, pageCost, PollGate, RateLimiter, RateLimits, RefusalDelays, REFUSAL_DELAY_MS, RouteCost, TooManyRequests } from './limits';
import { registerDashboard, sessionOf } from '../dashboard/routes';
import { SessionStore } from '../dashboard/sessions';
import { botCounts, botView, groupStatus, groupSummary, provisioningErrorView, runShadow, runSummary, runView, runWaitReasons, waitReasons, warmUpView } from './views';

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
  readonly metrics?: { readonly registry: Registry; readonly token: string };
  /** Proxy hops whose X-Forwarded-* headers to believe. @default 0 */
  readonly trustProxy?: number;
}

/**
 * Who may call a route. Every route declares one; a test walks the router and fails for a route
 * without it. `anyone` routes need no token; the others need a user or a bot token, and the
 * handlers check the group or run access the policy names.
 */
export type AccessPolicy =
  | 'anyone'
  | 'any-user'
  | 'group-user'
  | 'group-co-owner'
  | 'run-owner-or-co-owner'
  | 'group-bot'
  | 'bot'
  | 'metrics-token'
  | 'session-user';

/** The group view lists the first runs of the queue; `queued` has the full count, and /queue pages the rest. */
export const QUEUE_VIEW_LIMIT = 50;
/** Finished runs on the group view; the history route pages the rest. */
export const RECENT_VIEW_LIMIT = 20;
/** The most runs one page of the history or the queue holds. */
export const PAGE_LIMIT = 200;

/** Request body limit for user routes; the agent's completion carries up to 64 KiB of output. */
export const BODY_LIMIT = '128kb';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
    /** The calling bot, on routes with the `bot` policy. */
    bot?: Bot;
  }
}

const credentialHash = (credential: string) => createHash('sha256').update(credential).digest('hex');

function zodMessage(error: z.ZodError, field: string): string {
  return error.issues
    .map((i) => {
      if (i.code === 'unrecognized_keys') return `${i.keys.join(', ')}: unknown field${i.keys.length > 1 ? 's' : ''}`;
      return `${i.path.length ? i.path.join('.') : field}: ${i.message}`;
    })
    .join('; ');
}

/** Validates a body (or a header or path parameter, named by `field`); 400 names every bad field. */
function parse<T extends z.ZodType>(schema: T, value: unknown, field = 'body'): z.infer<T> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw badRequest('invalid_request', zodMessage(result.error, field));
  return result.data;
}

const priority = z.enum(PRIORITIES as [string, ...string[]], { message: `must be one of ${PRIORITIES.join(', ')}` });

const enqueueBody = z
  .object({
    flow: z.string({ message: 'is required, the name of a flow in the group catalogue' }).min(1).max(64),
    inputs: z.record(z.string(), z.unknown(), { message: 'must be a JSON object' }).optional(),
    priority: priority.optional(),
  })
  .strict();

const priorityBody = z.object({ priority }).strict();
/** Actions take no body; a body with fields is a malformed request. */
const emptyBody = z.object({}).strict();
const registerBody = z.object({ vmName: z.string().min(1).max(80).regex(/^[A-Za-z0-9._-]+$/, 'must be a VM name') }).strict();
const botId = z.string().regex(/^bot_[0-9a-f]{24}$/, 'must be a bot ID (bot_ and 24 hex digits)');
// botId is optional: the credential names the bot; when given, it must be that bot.
const claimBody = z.object({ botId: botId.optional(), waitSeconds: z.number().min(0).max(MAX_CLAIM_WAIT_MS / 1000).optional() }).strict();
const heartbeatBody = z.object({ botId: botId.optional(), attempt: z.number().int().min(1) }).strict();
const completeBody = z
  .object({
    botId: botId.optional(),
    attempt: z.number().int().min(1),
    status: z.enum(['succeeded', 'failed', 'cancelled']),
    exitCode: z.number().int().optional(),
    output: z.string().max(MAX_OUTPUT_BYTES).optional(),
    error: z.union([z.string().max(2000), z.object({ code: z.string().max(100).optional(), message: z.string().max(2000).optional() }).strict()]).optional(),
  })
  .strict();
const runId = z.string().regex(/^run_[0-9a-f]{24}$/, 'must be a run ID (run_ and 24 hex digits)');
const idempotencyKey = z.string().regex(/^[\x21-\x7e]{1,200}$/, 'must be 1-200 printable ASCII characters');

/**
 * The largest JSON answer the API sends. The views are built to stay far below it (lists carry no
 * run data); the cap is the backstop that keeps one request from costing the thread megabytes.
 */
export const MAX_ANSWER_BYTES = 256 * 1024;

/** API paths answer JSON; the others are the dashboard's HTML pages. */
const isApiPath = (p: string) => p.startsWith('/v1/') || p === '/healthz' || p === '/metrics';

export function createApi(options: ApiOptions): express.Express {
  const { manifest, store, queue, scaler, auth } = options;
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => undefined);
  const expectedBootMs = options.expectedBootMs ?? 10 * 60_000;
  const groups = new Map(manifest.groups.map((g) => [g.name, g]));
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
  const limiter = new RateLimiter(now);
  const refusals = new RefusalDelays();
  const polls = new PollGate();
  const sessions = new SessionStore(now);

  /** Authenticates, applies the rate limit of the token at the route's cost, and checks the caller's kind. */
  const gate = (policy: AccessPolicy, cost: RouteCost) => async (req: Request, _res: Response, next: NextFunction) => {
    if (policy === 'anyone') return next();
    if (policy === 'metrics-token') {
      const expected = options.metrics ? createHash('sha256').update(options.metrics.token).digest() : undefined;
      const given = createHash('sha256').update(/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '').digest();
      if (!expected) return next(notFound('metrics_off', 'metrics are off in this runtime; start it with --metrics-token to expose them'));
      return timingSafeEqual(expected, given) ? next() : next(unauthorized('send the metrics token as Authorization: Bearer <token>'));
    }
    if (policy === 'session-user') {
      const session = sessionOf(sessions, req);
      if (!session) return next(unauthorized('sign in first'));
      req.session = session;
      req.principal = session.principal;
      // Forms carry the session's CSRF token; SameSite=Strict cookies are the second guard.
      if (req.method === 'POST' && !SessionStore.csrfMatches(session, req.body?._csrf)) {
        return next(forbidden('this form is stale or was not sent from the dashboard; reload the page and try again'));
      }
    }
    const principal = req.principal ?? (await auth.authenticate(req.headers.authorization));
    if (!principal) return next(unauthorized(req.headers.authorization ? 'the bearer token is not valid' : undefined));
    req.principal = principal;
    const units = typeof cost === 'function' ? cost(req) : cost;
    const wait =
      principal.kind === 'bot'
        ? limiter.take(`bot:${principal.group}`, limits.botPerSecond, limits.botBurst, units)
        : limiter.take(`user:${principal.id}`, limits.userPerSecond, limits.userBurst, units);
    if (wait > 0) {
      const refusal = new TooManyRequests(`too many requests for this token; retry in ${wait} s`, wait);
      // A client past its limit waits for its refusal, so that a flood costs the thread little.
      const delay = refusals.hold(principal.kind === 'bot' ? `bot:${principal.group}` : `user:${principal.id}`, Math.min(wait * 1000, REFUSAL_DELAY_MS));
      if (delay === 0) return next(refusal);
      setTimeout(() => {
        refusals.release(principal.kind === 'bot' ? `bot:${principal.group}` : `user:${principal.id}`);
        next(refusal);
      }, delay);
      return;
    }
    const agentRoute = policy === 'group-bot' || policy === 'bot';
    if (agentRoute && principal.kind !== 'bot') return next(forbidden('only bots may call /v1/agent routes'));
    if (!agentRoute && principal.kind !== 'user') return next(forbidden('bots may only call /v1/agent routes'));
    if (policy === 'bot') {
      // The group is proven by the token; the bot by the credential its registration returned.
      const bot = await botOf(req, principal as Extract<Principal, { kind: 'bot' }>).catch((err: unknown) => err);
      if (bot instanceof Error) return next(bot);
      req.bot = bot as Bot;
    }
    next();
  };

  /** The bot a credential names, in the caller's group; a body naming another bot is refused. */
  const botOf = async (req: Request, principal: Extract<Principal, { kind: 'bot' }>): Promise<Bot> => {
    const header = req.headers[BOT_CREDENTIAL_HEADER];
    const credential = typeof header === 'string' && /^[A-Za-z0-9_-]{20,100}$/.test(header) ? header : undefined;
    if (!credential) throw unauthorized(`send the credential /v1/agent/register returned in the ${BOT_CREDENTIAL_HEADER} header`);
    const found = await store.botByCredential(credentialHash(credential));
    if (!found || found.group !== principal.group) throw unauthorized('the bot credential is not valid for this group; the bot may have been deleted');
    const claimed = (req.body as { botId?: unknown } | undefined)?.botId;
    if (claimed !== undefined && claimed !== found.id) throw forbidden(`this credential is bot ${found.id}'s; it may not act as ${String(claimed)}`);
    return found;
  };

  const declared = new Map<string, AccessPolicy>();
  /** Registers a route with its access policy and its cost against the rate limit (default 1). */
  const route = (method: 'get' | 'post' | 'patch', routePath: string, policy: AccessPolicy, handler: express.RequestHandler, cost: RouteCost = 1) => {
    declared.set(`${method.toUpperCase()} ${routePath}`, policy);
    app[method](routePath, gate(policy, cost), handler);
  };
  (app as express.Express & { accessPolicies?: ReadonlyMap<string, AccessPolicy> }).accessPolicies = declared;

  const user = (req: Request) => {
    const p = req.principal!;
    if (p.kind !== 'user') throw forbidden('bot tokens may only call /v1/agent routes');
    return p;
  };

  /** The group and the caller's access; groups the caller may not see do not exist for them. */
  const groupFor = (req: Request): { group: ManifestGroup; access: Access } => {
    const principal = user(req);
    const name = String(req.params.group);
    const env = manifest.environment;
    if (!env.enabled) {
      throw new RuntimeError(409, 'environment_disabled', `environment ${env.name} is disabled (enabled: false in its stack): groups are hidden and runs are refused until it is enabled and deployed again`);
    }
    const group = groups.get(name);
    const access = group ? accessTo(principal, group) : undefined;
    if (!group || !access) throw notFound('group_not_found', `group "${name}" does not exist or you have no access to it`);
    return { group, access };
  };

  /** A run the caller may act on: its owner, a co-owner of its group, or an admin. */
  const runFor = async (req: Request, need: 'owner' | 'co-owner'): Promise<{ run: Run; access: Access }> => {
    const principal = user(req);
    const id = parse(runId, req.params.id, 'id');
    const run = await store.getRun(id);
    const group = run && groups.get(run.group);
    const access = group ? accessTo(principal, group) : undefined;
    const owner = run?.createdBy === principal.id;
    if (!run || !access || (!owner && !canManage(access))) throw notFound('run_not_found', `run ${id} does not exist or you have no access to it`);
    if (need === 'co-owner' && !canManage(access)) throw forbidden(`only co-owners of group ${run.group} may do this`);
    return { run, access };
  };

  /** The calling bot and its group, on `bot` routes. */
  const callingBot = (req: Request): { group: ManifestGroup; bot: Bot } => ({ group: groups.get(req.bot!.group)!, bot: req.bot! });

  route('get', '/metrics', 'metrics-token',
    wrap(async (_req, res) => {
      res.setHeader('content-type', options.metrics!.registry.contentType);
      res.send(await options.metrics!.registry.metrics());
    }),
  );

  route('get', '/healthz', 'anyone',
    wrap(async (_req, res) => {
      try {
        await store.groups();
        res.json({ status: 'ok', store: store.kind, leader: scaler.isLeader });
      } catch {
        res.status(503).json({ status: 'unavailable', store: store.kind, leader: scaler.isLeader });
      }
    }),
  );


  route('get', '/v1/environment', 'any-user',
    wrap(async (req, res) => {
      user(req);
      res.json(await environmentView());
    }),
  );

  /** The groups a principal sees, with their counts (the group list of the API and the dashboard). */
  const groupSummaries = async (principal: Principal) => {
    if (!manifest.environment.enabled) return [];
    const [states, counts, bots] = await Promise.all([store.groups(), store.queueCounts(), store.bots()]);
    return manifest.groups
      .map((g) => ({ g, access: accessTo(principal, g) }))
      .filter((x): x is { g: ManifestGroup; access: Access } => x.access !== undefined)
      .map(({ g, access }) =>
        groupSummary(
          g,
          states.find((s) => s.name === g.name),
          bots.filter((b) => b.group === g.name),
          counts.find((c) => c.group === g.name) ?? { queued: 0, running: 0 },
          access,
        ),
      );
  };

  /** A run in a list: its summary for whoever may see it, else only where it stands. */
  const listed = (run: RunListing, principal: Principal, access: Access, t: number) => (canSeeRun(principal, access, run) ? runSummary(run, t) : runShadow(run, t));

  /** One group in full: bots, the start of the queue in order with why it waits, recent runs, errors. */
  const groupDetail = async (group: ManifestGroup, access: Access, principal: Principal) => {
    const t = now();
    const [states, counts, bots, queued, recent, errors] = await Promise.all([
      store.groups(),
      store.queueCounts(),
      store.bots(group.name),
      store.queue(group.name, QUEUE_VIEW_LIMIT),
      store.runs({ group: group.name, states: ['succeeded', 'failed', 'cancelled', 'expired'], limit: RECENT_VIEW_LIMIT }),
      store.provisioningErrors(group.name, 20),
    ]);
    const plan = scaler.lastPlan?.groups[group.name];
    const reasons = waitReasons(plan, bots, t, expectedBootMs);
    const perRun = runWaitReasons(plan, bots, queued.length, t, expectedBootMs);
    return {
      ...groupSummary(group, states.find((s) => s.name === group.name), bots, counts.find((c) => c.group === group.name) ?? { queued: 0, running: 0 }, access),
      flows: Object.keys(group.flows),
      bots: bots.map((b) => botView(b, t)),
      botCounts: botCounts(bots),
      queue: queued.map((r, i) => ({ position: i + 1, ...listed(r, principal, access, t), waitingBecause: perRun[i] })),
      waitingBecause: reasons,
      predictiveWarmUp: warmUpView(plan),
      recentRuns: recent.map((r) => listed(r, principal, access, t)),
      provisioningErrors: errors.map(provisioningErrorView),
    };
  };

  /** The environment line every view starts with. */
  const environmentView = async () => {
    const bots = await store.bots();
    const env = manifest.environment;
    return {
      name: env.name,
      geography: env.geography,
      region: env.region,
      enabled: env.enabled,
      plan: env.plan,
      botCapacity: env.botCapacity,
      botsInUse: bots.length,
      bots: botCounts(bots),
    };
  };

  route('get', '/v1/groups', 'any-user',
    wrap(async (req, res) => {
      res.json({ groups: await groupSummaries(user(req)) });
    }),
    COST.groupList,
  );

  route('get', '/v1/groups/:group', 'group-user',
    wrap(async (req, res) => {
      const { group, access } = groupFor(req);
      res.json(await groupDetail(group, access, user(req)));
    }),
    COST.groupView,
  );

  const queueQuery = z
    .object({
      offset: z.coerce.number().int().min(0).max(1_000_000).optional(),
      limit: z.coerce.number().int().min(1).max(PAGE_LIMIT).optional(),
    })
    .strict();

  route('get', '/v1/groups/:group/queue', 'group-user',
    wrap(async (req, res) => {
      const { group, access } = groupFor(req);
      const principal = user(req);
      const query = parse(queueQuery, req.query);
      const offset = query.offset ?? 0;
      const limit = query.limit ?? QUEUE_VIEW_LIMIT;
      const t = now();
      const runs = await store.queue(group.name, limit + 1, offset);
      const page = runs.slice(0, limit);
      res.json({ queue: page.map((r, i) => ({ position: offset + i + 1, ...listed(r, principal, access, t) })), next: runs.length > limit ? offset + limit : null });
    }),
    (req) => pageCost(req.query.limit),
  );

  /** High priority jumps everyone's runs: co-owners and admins, and users where the group allows it. */
  const mayQueueHigh = (group: ManifestGroup, access: Access) => canManage(access) || group.queue.highPriority === 'users';
  const highPriorityRefused = (group: ManifestGroup) =>
    new RuntimeError(403, 'priority_not_allowed', `only co-owners of group ${group.name} may use priority high (its queue.highPriority is ${group.queue.highPriority}); send normal`);

  route('post', '/v1/groups/:group/runs', 'group-user',
    wrap(async (req, res) => {
      const { group, access } = groupFor(req);
      const principal = user(req);
      const body = parse(enqueueBody, req.body);
      if (body.priority === 'high' && !mayQueueHigh(group, access)) throw highPriorityRefused(group);
      const key = req.headers['idempotency-key'];
      const idempotency = key === undefined ? undefined : parse(idempotencyKey, Array.isArray(key) ? key[0] : key, 'Idempotency-Key');
      const { run, created } = await queue.enqueue({
        group: group.name,
        flow: body.flow,
        inputs: body.inputs,
        priority: body.priority as Run['priority'] | undefined,
        createdBy: principal.id,
        idempotencyKey: idempotency,
      });
      if (!created) res.setHeader('Idempotent-Replayed', 'true');
      log('run.enqueued', { runId: run.id, group: group.name, flow: run.flow, replayed: !created });
      res.status(202).json(runView(run, now()));
    }),
    (req) => 1 + Math.ceil(Number(req.headers['content-length'] ?? 0) / COST.perEnqueueBytes),
  );

  const listQuery = z
    .object({
      state: z
        .string()
        .transform((s) => s.split(','))
        .pipe(z.array(z.enum(RUN_STATES as [RunState, ...RunState[]], { message: `must be among ${RUN_STATES.join(', ')}` })))
        .optional(),
      limit: z.coerce.number().int().min(1).max(PAGE_LIMIT).optional(),
      before: runId.optional(),
    })
    .strict();

  route('get', '/v1/groups/:group/runs', 'group-user',
    wrap(async (req, res) => {
      const { group, access } = groupFor(req);
      const principal = user(req);
      const query = parse(listQuery, req.query);
      const limit = query.limit ?? 50;
      // A plain user's history holds their own runs only, so the cursor is always one of theirs.
      const createdBy = canManage(access) ? undefined : principal.id;
      const runs = await store.runs({ group: group.name, states: query.state, limit: limit + 1, before: query.before, createdBy });
      const page = runs.slice(0, limit);
      const t = now();
      res.json({ runs: page.map((r) => runSummary(r, t)), next: runs.length > limit ? page[page.length - 1].id : null });
    }),
    (req) => pageCost(req.query.limit),
  );

  route('get', '/v1/runs/:id', 'run-owner-or-co-owner',
    wrap(async (req, res) => {
      const { run } = await runFor(req, 'owner');
      res.json(runView(run, now()));
    }),
  );

  route('post', '/v1/runs/:id/cancel', 'run-owner-or-co-owner',
    wrap(async (req, res) => {
      const { run } = await runFor(req, 'owner');
      parse(emptyBody, req.body);
      const result = await queue.cancel(run.id);
      if (result.kind === 'not_found') throw notFound('run_not_found', `run ${run.id} does not exist`);
      if (result.kind === 'final') throw new RuntimeError(409, 'run_finished', `run ${run.id} already ended as ${result.run.state}`);
      log('run.cancel', { runId: run.id, group: run.group, result: result.kind });
      res.status(result.kind === 'cancelled' ? 200 : 202).json(runView(result.run, now()));
    }),
  );

  route('patch', '/v1/runs/:id', 'run-owner-or-co-owner',
    wrap(async (req, res) => {
      const { run, access } = await runFor(req, 'owner');
      const body = parse(priorityBody, req.body);
      if (body.priority === 'high' && !mayQueueHigh(groups.get(run.group)!, access)) throw highPriorityRefused(groups.get(run.group)!);
      if (run.state !== 'queued') throw new RuntimeError(409, 'run_not_queued', `run ${run.id} is ${run.state}; only a queued run's priority can change`);
      const updated = await queue.setPriority(run.id, body.priority as Run['priority']);
      res.json(runView(updated!, now()));
    }),
  );

  route('post', '/v1/runs/:id/move-to-top', 'group-co-owner',
    wrap(async (req, res) => {
      const { run } = await runFor(req, 'co-owner');
      parse(emptyBody, req.body);
      if (run.state !== 'queued') throw new RuntimeError(409, 'run_not_queued', `run ${run.id} is ${run.state}; only a queued run can move to the top`);
      const updated = await queue.moveToTop(run.id);
      res.json(runView(updated!, now()));
    }),
  );

  for (const action of ['pause', 'resume'] as const) {
    route('post', `/v1/groups/:group/${action}`, 'group-co-owner',
      wrap(async (req, res) => {
        const { group, access } = groupFor(req);
        if (!canManage(access)) throw forbidden(`only co-owners of group ${group.name} may ${action} it`);
        parse(emptyBody, req.body);
        const state = action === 'pause' ? await queue.pause(group.name) : await queue.resume(group.name);
        log(`group.${action}`, { group: group.name, by: user(req).id });
        res.json({ name: group.name, state: groupStatus(state) });
      }),
    );
  }

  route('get', '/v1/agent/bundle', 'group-bot',
    wrap(async (_req, res) => {
      const file = options.agentBundle;
      if (!file || !fs.existsSync(file)) throw notFound('bundle_not_found', 'this runtime carries no agent bundle; run the deployed package, which has agent.js beside main.js');
      res.setHeader('content-type', 'application/javascript');
      res.setHeader('cache-control', 'no-store');
      res.sendFile(path.resolve(file));
    }),
  );

  route('post', '/v1/agent/register', 'group-bot',
    wrap(async (req, res) => {
      const principal = req.principal!;
      if (principal.kind !== 'bot') throw forbidden('only bots may call /v1/agent routes');
      const body = parse(registerBody, req.body);
      const group = groups.get(principal.group)!;
      // The bot's own credential: only its hash is stored, and only this answer carries it.
      const credential = randomBytes(32).toString('base64url');
      const result = await store.register(group.name, body.vmName, imageKeyOf(group), { maxBots: group.maxBots, capacity: manifest.environment.botCapacity }, now(), credentialHash(credential));
      if (result.kind !== 'registered') {
        log('bot.registration_refused', { group: group.name, vmName: body.vmName, refusal: result.refusal });
        throw new RuntimeError(409, result.refusal === 'vm_name_taken' ? 'vm_name_taken' : 'registration_refused', result.reason ?? 'refused');
      }
      log('bot.registered', { botId: result.bot!.id, group: group.name, vmName: body.vmName });
      queue.notifier.notify(group.name);
      scaler.trigger();
      res.status(201).json({
        botId: result.bot!.id,
        credential,
        group: group.name,
        heartbeatSeconds: group.scaling.heartbeatSeconds,
        claimWaitSeconds: MAX_CLAIM_WAIT_MS / 1000,
      });
    }),
  );

  route('post', '/v1/agent/claim', 'bot',
    wrap(async (req, res) => {
      const body = parse(claimBody, req.body);
      const { group, bot } = callingBot(req);
      if (!polls.enter(bot.id, limits.claimsPerBot)) {
        throw new TooManyRequests(`bot ${bot.id} already has ${limits.claimsPerBot} claims waiting; wait for one to answer`, 1);
      }
      const aborted = new AbortController();
      res.on('close', () => aborted.abort());
      let result;
      try {
        result = await queue.claim(bot.id, group.name, (body.waitSeconds ?? MAX_CLAIM_WAIT_MS / 1000) * 1000, aborted.signal);
      } finally {
        polls.leave(bot.id);
      }
      if (result.kind === 'gone') throw new RuntimeError(410, 'bot_gone', `bot ${bot.id} is ${result.state}; its agent should stop`);
      if (result.kind === 'none') {
        res.status(204).end();
        return;
      }
      const run = result.run;
      const flow = Object.hasOwn(group.flows, run.flow) ? group.flows[run.flow] : undefined;
      log('run.claimed', { runId: run.id, botId: bot.id, group: group.name, attempt: run.attempts });
      res.json({
        run: { runId: run.id, attempt: run.attempts, flow: run.flow, command: flow?.command ?? '', inputs: run.inputs, timeoutMinutes: run.timeoutMinutes },
      });
    }),
  );

  route('post', '/v1/agent/runs/:id/heartbeat', 'bot',
    wrap(async (req, res) => {
      const id = parse(runId, req.params.id, 'id');
      const body = parse(heartbeatBody, req.body);
      const { bot } = callingBot(req);
      // The store answers stale unless the run is running on this very bot.
      const result = await queue.heartbeat(bot.id, id, body.attempt);
      if (result.kind === 'stale') throw new RuntimeError(409, 'run_not_running', `run ${id} is not running on bot ${bot.id}; stop it`);
      res.json({ cancel: result.cancel });
    }),
  );

  route('post', '/v1/agent/runs/:id/complete', 'bot',
    wrap(async (req, res) => {
      const id = parse(runId, req.params.id, 'id');
      const body = parse(completeBody, req.body);
      const { bot } = callingBot(req);
      const error = typeof body.error === 'string' ? { message: body.error } : body.error;
      const result = await queue.complete({
        botId: bot.id,
        runId: id,
        attempt: body.attempt,
        status: body.status,
        exitCode: body.exitCode,
        output: body.output,
        errorCode: error?.code,
        errorMessage: error?.message,
      });
      if (result.kind === 'stale') throw new RuntimeError(409, 'run_not_running', `run ${id} is no longer running on bot ${bot.id}; the report is ignored`);
      log('run.completed', { runId: id, botId: bot.id, state: result.run.state, duplicate: result.kind === 'duplicate' });
      res.json({ run: runSummary(result.run, now()), duplicate: result.kind === 'duplicate' });
    }),
  );

  const dashboard = registerDashboard({
    route: (method, routePath, policy, handler, cost) => route(method, routePath, policy, handler, cost),
    wrap,
    auth,
    sessions,
    queue,
    groupFor,
    runFor,
    groupSummaries,
    groupDetail,
    environmentView,
    log,
    now,
  });

  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(notFound('route_not_found', `no route ${req.method} ${req.path}`));
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return;
    const e = err as { type?: string; status?: number; message?: string };
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

