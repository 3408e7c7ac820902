/**
 * Who may call a route, enforced before its handler runs. Every route is registered with an
 * access policy; its gate authenticates the caller, charges the token's rate limit, checks the
 * caller's kind, then resolves what the policy names (the group, the run, the calling bot) and
 * refuses a caller without the role. Handlers read what the gate resolved and check no access
 * themselves, so this file is the one place the policies are decided.
 */
import { createHash, timingSafeEqual } from 'crypto';
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { FleetManifest, ManifestGroup } from '../config/manifest';
import { sha256Hex } from '../config/manifest';
import { forbidden, notFound, RuntimeError, unauthorized } from '../errors';
import type { Bot } from '../domain/bot';
import type { Run } from '../domain/run';
import type { Actor } from '../domain/audit';
import type { Store } from '../store/types';
import { BOT_CREDENTIAL_HEADER } from '../agent/agent';
import { sessionOf, SessionStore } from './sessions';
import { Access, accessTo, Authenticator, canManage, Principal } from './auth';
import { parse, runId } from './input';
import { RateLimiter, RefusalDelays, REFUSAL_DELAY_MS, RouteCost, TooManyRequests } from './limits';

/**
 * Who may call a route:
 * - `anyone`: no token;
 * - `any-user`: a user token;
 * - `group-user`: a user of the path's `:group` (a co-owner or an admin too);
 * - `group-co-owner`: a co-owner (or an admin) of the path's `:group`, or of the group of the run
 *   `:id`, whose owner or co-owner the caller must be;
 * - `run-owner-or-co-owner`: the creator of the run `:id`, a co-owner of its group, or an admin;
 * - `group-bot`: a bot token; `bot`: a bot token and the bot's own credential;
 * - `metrics-token`: the /metrics token; `session-user`: a dashboard session.
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

/** The policies that name a group or a run. A `session-user` route may add one for its page. */
export type ResourcePolicy = Extract<AccessPolicy, 'group-user' | 'group-co-owner' | 'run-owner-or-co-owner'>;

export type UserPrincipal = Extract<Principal, { kind: 'user' }>;
export type BotPrincipal = Extract<Principal, { kind: 'bot' }>;

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
    /** The calling bot, on routes with the `bot` policy. */
    bot?: Bot;
    /** The group the gate resolved: the route's group, its run's group, or the calling bot's. */
    group?: ManifestGroup;
    /** The calling user's role in `group`. */
    access?: Access;
    /** The run `:id`, on routes whose policy names a run. */
    run?: Run;
    /** Takes more of the caller's rate limit, for work the handler finds it did (see RateLimiter.charge). */
    charge?: (units: number) => void;
  }
}

export type RouteMethod = 'get' | 'post' | 'patch' | 'delete';

export interface RouteOptions {
  /** What the request costs against its token's rate limit, in requests. @default 1 */
  readonly cost?: RouteCost;
  /** On a `session-user` route: the group or run the page acts on, resolved and checked as that API policy does. @default none */
  readonly resource?: ResourcePolicy;
  /** Ends the `group-co-owner` refusal "only co-owners of group <g> may …". @default 'do this' */
  readonly coOwnersMay?: string;
}

export interface AccessOptions {
  readonly manifest: FleetManifest;
  /** Reads only: the run a policy names, and the bot a credential names. */
  readonly store: Pick<Store, 'getRun' | 'botByCredential'>;
  readonly auth: Authenticator;
  readonly sessions: SessionStore;
  readonly limits: { readonly userPerSecond: number; readonly userBurst: number; readonly botPerSecond: number; readonly botBurst: number };
  readonly now: () => number;
  /** The token /metrics asks for, or where to read it as it changes. @default none: metrics-token routes answer 404 */
  readonly metricsToken?: string | (() => string | undefined);
}

/** A route's gate; it carries its policy, so a test can see that each route applies the one it declares. */
export type Gate = RequestHandler & { readonly policy: AccessPolicy; readonly resource?: ResourcePolicy };

export interface RouteTable {
  /** Registers a route behind the gate of its policy. */
  route(method: RouteMethod, path: string, policy: AccessPolicy, handler: RequestHandler, options?: RouteOptions): void;
  /** Every registered route's policy, by `METHOD /path`. */
  readonly declared: ReadonlyMap<string, AccessPolicy>;
  /**
   * Whether a request carries a credential that is valid now (a session cookie, a user's or a
   * bot's bearer token, the metrics token), for a request refused before any gate ran: a body
   * that is not JSON or too large, a URL too long. It costs what a gate's check costs, and charges no rate limit.
   */
  carriesCredential(req: Request): Promise<boolean>;
}

/** What the store keeps of a bot's credential: its SHA-256, in hex. */
export const credentialHash = sha256Hex;

const RESOURCE_POLICIES: readonly AccessPolicy[] = ['group-user', 'group-co-owner', 'run-owner-or-co-owner'];

/** The param a resource policy reads, or an error naming the route: a policy its path cannot satisfy is a bug. */
function resourceParam(method: RouteMethod, path: string, resource: ResourcePolicy): 'group' | 'id' {
  const has = (name: string) => new RegExp(`/:${name}(/|$)`).test(path);
  const wanted = resource === 'group-user' ? ['group'] : resource === 'run-owner-or-co-owner' ? ['id'] : ['group', 'id'];
  const param = wanted.find(has);
  if (!param) throw new Error(`route ${method.toUpperCase()} ${path}: policy ${resource} needs ${wanted.map((p) => `:${p}`).join(' or ')} in the path`);
  return param as 'group' | 'id';
}

/** A route table on `router`: each route behind a gate that enforces its policy. */
export function createRouteTable(router: Pick<Router, RouteMethod>, options: AccessOptions): RouteTable {
  const { manifest, store, auth, sessions, limits, now } = options;
  const groups = new Map(manifest.groups.map((g) => [g.name, g]));
  const limiter = new RateLimiter(now);
  const refusals = new RefusalDelays();
  const metricsToken = options.metricsToken;
  const metricsHash = (): Buffer | undefined => {
    const token = typeof metricsToken === 'function' ? metricsToken() : metricsToken;
    return token !== undefined ? createHash('sha256').update(token).digest() : undefined;
  };
  /** The bearer token of an Authorization header, if it has one. */
  const bearerOf = (req: Request): string | undefined => /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  /** Whether a bearer token is the metrics token (compared by hash, in constant time). */
  const isMetricsToken = (bearer: string, expected: Buffer): boolean => timingSafeEqual(expected, createHash('sha256').update(bearer).digest());

  /** The group and the caller's access; groups the caller may not see do not exist for them. */
  const groupFor = (principal: UserPrincipal, name: string): { group: ManifestGroup; access: Access } => {
    const env = manifest.environment;
    if (!env.enabled) {
      throw new RuntimeError(409, 'environment_disabled', `environment ${env.name} is disabled (enabled: false in its stack): groups are hidden and runs are refused until it is enabled and deployed again`);
    }
    const group = groups.get(name);
    const access = group ? accessTo(principal, group) : undefined;
    if (!group || !access) throw notFound('group_not_found', `group "${name}" does not exist or you have no access to it`);
    return { group, access };
  };

  /** A run its creator, a co-owner of its group or an admin may act on; to anyone else it does not exist. */
  const runFor = async (principal: UserPrincipal, rawId: unknown): Promise<{ run: Run; group: ManifestGroup; access: Access }> => {
    const id = parse(runId, rawId, 'id');
    const run = await store.getRun(id);
    const group = run && groups.get(run.group);
    const access = group ? accessTo(principal, group) : undefined;
    if (!run || !group || !access || (run.createdBy !== principal.id && !canManage(access))) throw notFound('run_not_found', `run ${id} does not exist or you have no access to it`);
    return { run, group, access };
  };

  /** The bot a credential names, in the caller's group; a body naming another bot is refused. */
  const botOf = async (req: Request, principal: BotPrincipal): Promise<Bot> => {
    const header = req.headers[BOT_CREDENTIAL_HEADER];
    const credential = typeof header === 'string' && /^[A-Za-z0-9_-]{20,100}$/.test(header) ? header : undefined;
    if (!credential) throw unauthorized(`send the credential /v1/agent/register returned in the ${BOT_CREDENTIAL_HEADER} header`);
    const found = await store.botByCredential(credentialHash(credential));
    if (!found || found.group !== principal.group) throw unauthorized('the bot credential is not valid for this group; the bot may have been deleted');
    const claimed = (req.body as { botId?: unknown } | undefined)?.botId;
    if (claimed !== undefined && claimed !== found.id) throw forbidden(`this credential is bot ${found.id}'s; it may not act as ${String(claimed)}`);
    return found;
  };

  /** Resolves the group or run a resource policy names onto the request, or throws its refusal. */
  const resolve = async (req: Request, principal: UserPrincipal, resource: ResourcePolicy, param: 'group' | 'id', coOwnersMay: string) => {
    const found: { group: ManifestGroup; access: Access; run?: Run } = param === 'group' ? groupFor(principal, String(req.params.group)) : await runFor(principal, req.params.id);
    if (resource === 'group-co-owner' && !canManage(found.access)) throw forbidden(`only co-owners of group ${found.group.name} may ${coOwnersMay}`);
    req.group = found.group;
    req.access = found.access;
    req.run = found.run;
  };

  /** Holds a rate-limit refusal back a while, so that a flood costs the thread little. */
  const refuseLater = (key: string, wait: number, next: NextFunction) => {
    const refusal = new TooManyRequests(`too many requests for this token; retry in ${wait} s`, wait);
    const delay = refusals.hold(key, Math.min(wait * 1000, REFUSAL_DELAY_MS));
    if (delay === 0) return next(refusal);
    setTimeout(() => {
      refusals.release(key);
      next(refusal);
    }, delay);
  };

  const gate = (policy: AccessPolicy, cost: RouteCost, resource: ResourcePolicy | undefined, param: 'group' | 'id' | undefined, coOwnersMay: string): Gate => {
    const check = async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
      if (policy === 'anyone') return next();
      if (policy === 'metrics-token') {
        if (metricsToken === undefined) return next(notFound('metrics_off', 'metrics are off in this runtime; start it with --metrics-token to expose them'));
        const expected = metricsHash();
        // Kept in Key Vault and not read yet: nothing can match it.
        if (!expected) return next(unauthorized('the metrics token is not loaded from Key Vault yet; try again in a minute'));
        return isMetricsToken(bearerOf(req) ?? '', expected) ? next() : next(unauthorized('send the metrics token as Authorization: Bearer <token>'));
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
      const key = principal.kind === 'bot' ? `bot:${principal.group}` : `user:${principal.id}`;
      const wait = principal.kind === 'bot' ? limiter.take(key, limits.botPerSecond, limits.botBurst, units) : limiter.take(key, limits.userPerSecond, limits.userBurst, units);
      if (wait > 0) return refuseLater(key, wait, next);
      req.charge = (more) => limiter.charge(key, more);
      const agentRoute = policy === 'group-bot' || policy === 'bot';
      if (agentRoute && principal.kind !== 'bot') return next(forbidden('only bots may call /v1/agent routes'));
      if (!agentRoute && principal.kind !== 'user') return next(forbidden('bots may only call /v1/agent routes'));
      if (principal.kind === 'bot') {
        // The group is proven by the token; on `bot` routes the bot by the credential its registration returned.
        req.group = groups.get(principal.group);
        if (policy === 'bot') req.bot = await botOf(req, principal);
      } else if (resource) {
        await resolve(req, principal, resource, param!, coOwnersMay);
      }
      next();
    };
    return Object.assign((req: Request, res: Response, next: NextFunction) => void check(req, res, next).catch(next), { policy, resource });
  };

  const carriesCredential = async (req: Request): Promise<boolean> => {
    if (sessionOf(sessions, req)) return true;
    const bearer = bearerOf(req);
    if (bearer === undefined) return false;
    const expected = metricsHash();
    if (expected && isMetricsToken(bearer, expected)) return true;
    return (await auth.authenticate(req.headers.authorization)) !== undefined;
  };

  const declared = new Map<string, AccessPolicy>();
  return {
    declared,
    carriesCredential,
    route(method, path, policy, handler, routeOptions = {}) {
      const resource = routeOptions.resource ?? (RESOURCE_POLICIES.includes(policy) ? (policy as ResourcePolicy) : undefined);
      if (routeOptions.resource && policy !== 'session-user') throw new Error(`route ${method.toUpperCase()} ${path}: resource ${routeOptions.resource} is for session-user routes; use policy ${routeOptions.resource}`);
      const param = resource ? resourceParam(method, path, resource) : undefined;
      const key = `${method.toUpperCase()} ${path}`;
      if (declared.has(key)) throw new Error(`route ${key} is registered twice`);
      declared.set(key, policy);
      router[method](path, gate(policy, routeOptions.cost ?? 1, resource, param, routeOptions.coOwnersMay ?? 'do this'), handler);
    },
  };
}

const unresolved = (req: Request, what: string, policies: string) =>
  new Error(`${req.method} ${req.path} has no ${what}: register it with the ${policies} policy`);

/** The calling user, on user routes. */
export function callingUser(req: Request): UserPrincipal {
  if (req.principal?.kind !== 'user') throw unresolved(req, 'calling user', 'any-user, group-user, group-co-owner, run-owner-or-co-owner or session-user');
  return req.principal;
}

/** The calling user as the author of a change, for its audit record. */
export function actingUser(req: Request, via: Actor['via']): Actor {
  return { id: callingUser(req).id, via };
}

/** The group the gate resolved and the caller's role in it. */
export function grantedGroup(req: Request): { group: ManifestGroup; access: Access; principal: UserPrincipal } {
  if (!req.group || !req.access) throw unresolved(req, 'resolved group', 'group-user or group-co-owner');
  return { group: req.group, access: req.access, principal: callingUser(req) };
}

/** The run the gate resolved, its group and the caller's role in it. */
export function grantedRun(req: Request): { run: Run; group: ManifestGroup; access: Access; principal: UserPrincipal } {
  if (!req.run) throw unresolved(req, 'resolved run', 'run-owner-or-co-owner or group-co-owner');
  return { run: req.run, ...grantedGroup(req) };
}

/** The calling bot's group, on agent routes. */
export function botGroup(req: Request): ManifestGroup {
  if (req.principal?.kind !== 'bot' || !req.group) throw unresolved(req, 'calling bot', 'group-bot or bot');
  return req.group;
}

/** The calling bot and its group, on `bot` routes. */
export function callingBot(req: Request): { group: ManifestGroup; bot: Bot } {
  if (!req.bot) throw unresolved(req, 'calling bot', 'bot');
  return { group: botGroup(req), bot: req.bot };
}
