/**
 * The dashboard at `/`: sign-in with a token, the group list, each group's page, and the
 * co-owner actions as forms. It uses the API's own views and checks, so a page shows exactly what
 * the API would answer, and a form is refused exactly where the API call would be.
 */
import { createHash } from 'crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { ManifestGroup } from '../config/manifest';
import { forbidden, RuntimeError } from '../errors';
import { actingUser, callingUser, grantedGroup, grantedRun, RouteMethod, RouteOptions } from '../http/access';
import type { Access, Authenticator, Principal } from '../http/auth';
import { canManage } from '../http/auth';
import { COST, RateLimiter, TooManyRequests } from '../http/limits';
import { RefusalLog } from '../http/refusal-log';
import type { RunQueue } from '../queue/queue';
import type { Priority } from '../domain/run';
import { PRIORITIES } from '../domain/run';
import { Chrome, DASHBOARD_CSS, DASHBOARD_JS, errorPage, groupListPage, groupPage, GroupPageData, GroupRow, signInPage } from './pages';
import { SESSION_COOKIE, SessionStore } from '../http/sessions';
import { chartWindow, DASHBOARD_CHART_JS, historyChartData } from './history-chart';
import { chartLibrary } from '../charts';
import type { SlotSample } from '../domain/history';

/** The latest audit records a group's page shows its co-owners; the API pages the rest. */
export const AUDIT_VIEW_LIMIT = 20;

export type DashboardPolicy = 'anyone' | 'session-user';

export interface DashboardContext {
  /**
   * Registers a page or form behind the gate of its policy; `options.resource` names the group or
   * run it acts on, which the gate resolves and checks as the API route of that policy does.
   */
  readonly route: (method: Extract<RouteMethod, 'get' | 'post'>, path: string, policy: DashboardPolicy, handler: RequestHandler, options?: RouteOptions) => void;
  readonly wrap: (fn: (req: Request, res: Response) => Promise<unknown>) => RequestHandler;
  readonly auth: Authenticator;
  readonly sessions: SessionStore;
  /** Every change a form makes goes through the queue. */
  readonly queue: RunQueue;
  readonly groupSummaries: (principal: Principal) => Promise<GroupRow[]>;
  readonly groupDetail: (group: ManifestGroup, access: Access, principal: Principal) => Promise<Omit<GroupPageData, 'canManage' | 'recent' | 'errors' | 'queue'> & {
    queue: GroupPageData['queue'];
    recentRuns: GroupPageData['recent'];
    provisioningErrors: GroupPageData['errors'];
    queued: number;
    running: number;
    botCounts: Record<string, number>;
  }>;
  readonly environmentView: () => Promise<Chrome['environment']>;
  /** A group's arrivals by slot start in slots [from, to), for the group page's 24-hour chart; without it the page has no chart. */
  readonly arrivals?: (group: string, from: number, to: number) => Promise<Map<number, number>>;
  /** A group's samples (most queued runs, bots per state) in slots [from, to), for the same chart. */
  readonly groupSamples?: (group: string, from: number, to: number) => Promise<SlotSample[]>;
  /** A group's latest audit records, newest first, for the page of a co-owner or admin; without it the page lists none. */
  readonly auditRecords?: (group: string, limit: number) => Promise<NonNullable<GroupPageData['audit']>>;
  /** A group's webhooks and failing deliveries, for the page of a co-owner or admin; without it the page shows none. */
  readonly webhooks?: (group: string) => Promise<NonNullable<GroupPageData['webhooks']>>;
  readonly log: (event: string, fields?: Record<string, unknown>) => void;
  /** Counts a refusal of a request without a valid credential, per reason (a metric). @default none */
  readonly countRefusal?: (reason: string) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The request came from a page of this origin: its Origin header, else its Referer, names this host. */
export function sameOrigin(req: Request): boolean {
  const claimed = req.headers.origin ?? req.headers.referer;
  if (!claimed || claimed === 'null') return false;
  try {
    const url = new URL(claimed);
    return url.host === req.headers.host && url.protocol === `${req.protocol}:`;
  } catch {
    return false;
  }
}

/**
 * Sign-ins per client address and per token: enough for people, too few for a flood that would
 * fill the session store or try tokens one after another.
 */
class SignInLimits {
  private readonly limiter: RateLimiter;
  constructor(now: () => number) {
    this.limiter = new RateLimiter(now);
  }

  /** 0 when this sign-in may go ahead, else the seconds to wait. */
  take(req: Request, token: string): number {
    const byAddress = this.limiter.take(`address:${clientAddress(req)}`, SIGN_IN_LIMITS.addressPerMinute / 60, SIGN_IN_LIMITS.addressBurst);
    if (byAddress > 0) return byAddress;
    if (!token) return 0;
    const key = createHash('sha256').update(token).digest('hex').slice(0, 32);
    return this.limiter.take(`token:${key}`, SIGN_IN_LIMITS.tokenPerMinute / 60, SIGN_IN_LIMITS.tokenBurst);
  }
}

/**
 * The messages an action's redirect may show, by key. The page renders only these: a `?done=` it
 * does not know shows nothing, so no link can put words of its choosing on the dashboard. A run ID
 * and a priority are shown only in their own formats.
 */
export const DONE_MESSAGES = {
  paused: () => 'Group paused: running flows finish, nothing new starts.',
  resumed: () => 'Group resumed.',
  cancelled: (run: string) => `Run ${run} cancelled.`,
  stopping: (run: string) => `Run ${run} is being stopped.`,
  'moved-to-top': (run: string) => `Run ${run} moved to the top.`,
  priority: (run: string, priority: string) => `Run ${run} is now ${priority} priority.`,
} as const;
export type DoneKey = keyof typeof DONE_MESSAGES;

/** The flash text for a redirect's query, or none when the key, the run or the priority is not one the dashboard wrote. */
export function doneMessage(query: Record<string, unknown>): string | undefined {
  const key = query.done;
  if (typeof key !== 'string' || !Object.prototype.hasOwnProperty.call(DONE_MESSAGES, key)) return undefined;
  const run = typeof query.run === 'string' && /^run_[0-9a-f]{24}$/.test(query.run) ? query.run : undefined;
  const priority = typeof query.priority === 'string' && (PRIORITIES as readonly string[]).includes(query.priority) ? query.priority : undefined;
  switch (key as DoneKey) {
    case 'paused':
    case 'resumed':
      return DONE_MESSAGES[key as 'paused' | 'resumed']();
    case 'priority':
      return run && priority ? DONE_MESSAGES.priority(run, priority) : undefined;
    default:
      return run ? DONE_MESSAGES[key as 'cancelled' | 'stopping' | 'moved-to-top'](run) : undefined;
  }
}

export const SIGN_IN_LIMITS = { addressPerMinute: 30, addressBurst: 10, tokenPerMinute: 6, tokenBurst: 5 } as const;

/** The client's address as Express sees it (through the trusted proxies). */
const clientAddress = (req: Request): string => req.ip ?? req.socket.remoteAddress ?? 'unknown';

/** How much of a refused sign-in's Origin header its log line keeps. */
export const LOGGED_ORIGIN_CHARS = 200;

export function registerDashboard(ctx: DashboardContext): { renderError(req: Request, res: Response, err: RuntimeError): Promise<void> } {
  const { route, wrap, sessions } = ctx;
  const signInLimits = new SignInLimits(ctx.now ?? Date.now);
  const refusals = new RefusalLog(ctx.log, ctx.now ?? Date.now, ctx.countRefusal);
  const refuse = (req: Request, reason: string, fields: Record<string, unknown> = {}) => refusals.refused(clientAddress(req), `signin_${reason}`, 'dashboard.signin_refused', fields);

  /** The page frame; the environment line only for a signed-in user, so no page tells a stranger about the environment. */
  const chrome = async (req: Request, title: string, flash?: Chrome['flash']): Promise<Chrome> => ({
    title,
    environment: req.session ? await ctx.environmentView() : undefined,
    user: req.session ? { id: req.session.principal.id, csrf: req.session.csrf } : undefined,
    flash,
  });

  // Secure whenever the browser came over HTTPS (App Service terminates TLS in front of us).
  const cookieFlags = (req: Request) => `Path=/; HttpOnly; SameSite=Strict${req.secure || req.headers['x-forwarded-proto'] === 'https' ? '; Secure' : ''}`;
  const send = (res: Response, status: number, body: string) => {
    res.status(status).type('html').setHeader('cache-control', 'no-store');
    res.send(body);
  };
  /** Only the main region, for the page's own refresh. */
  const partial = (req: Request, body: string) => (req.query.partial === 'main' ? body.slice(body.indexOf('>', body.indexOf('<main')) + 1, body.lastIndexOf('</main>')) : body);

  route('get', '/assets/dashboard.css', 'anyone', (_req, res) => {
    res.type('css').setHeader('cache-control', 'public, max-age=300');
    res.send(DASHBOARD_CSS);
  });
  route('get', '/assets/dashboard.js', 'anyone', (_req, res) => {
    res.type('application/javascript').setHeader('cache-control', 'public, max-age=300');
    res.send(DASHBOARD_JS);
  });

  // The charting library, from this origin: the CSP (default-src 'self') admits no CDN.
  route('get', '/assets/uplot.js', 'anyone', (_req, res) => {
    res.type('application/javascript').setHeader('cache-control', 'public, max-age=3600');
    res.send(chartLibrary().js);
  });
  route('get', '/assets/uplot.css', 'anyone', (_req, res) => {
    res.type('css').setHeader('cache-control', 'public, max-age=3600');
    res.send(chartLibrary().css);
  });
  route('get', '/assets/dashboard-chart.js', 'anyone', (_req, res) => {
    res.type('application/javascript').setHeader('cache-control', 'public, max-age=300');
    res.send(DASHBOARD_CHART_JS);
  });

  route('get', '/signin', 'anyone', wrap(async (req, res) => send(res, 200, signInPage(await chrome(req, 'Sign in')))));

  route('post', '/signin', 'anyone',
    wrap(async (req, res) => {
      // The limits first: a refused request should cost as little as possible, whatever it sends.
      const token = typeof req.body?.token === 'string' ? req.body.token.trim() : '';
      const wait = signInLimits.take(req, token);
      if (wait > 0) {
        refuse(req, 'rate');
        throw new TooManyRequests(`too many sign-ins from this address or with this token; retry in ${wait} s`, wait);
      }
      // Login CSRF: only the sign-in form on this origin may sign a browser in.
      if (!sameOrigin(req)) {
        const origin = req.headers.origin;
        refuse(req, 'cross_site', { origin: origin === undefined ? null : origin.slice(0, LOGGED_ORIGIN_CHARS) });
        throw forbidden('sign in from the sign-in page of this dashboard');
      }
      const signedIn = token ? await ctx.auth.signIn(token) : undefined;
      if (!signedIn || !('proof' in signedIn)) {
        refuse(req, signedIn ? 'bot_token' : 'invalid_token');
        return send(res, 401, signInPage(await chrome(req, 'Sign in', { kind: 'error', text: signedIn ? 'Bot tokens cannot sign in to the dashboard.' : 'That token is not valid.' })));
      }
      const session = sessions.create(signedIn);
      ctx.log('dashboard.signed_in', { principal: signedIn.principal.id });
      // The cookie lasts no longer than the session.
      const maxAge = Math.max(0, Math.floor((session.endsAt - session.signedInAt) / 1000));
      res.setHeader('set-cookie', `${SESSION_COOKIE}=${session.id}; ${cookieFlags(req)}; Max-Age=${maxAge}`);
      res.redirect(303, '/');
    }),
  );

  route('post', '/signout', 'session-user', (req, res) => {
    sessions.end(req.session!.id);
    res.setHeader('set-cookie', `${SESSION_COOKIE}=; ${cookieFlags(req)}; Max-Age=0`);
    res.redirect(303, '/signin');
  });

  route('get', '/', 'session-user',
    wrap(async (req, res) => {
      const groups = await ctx.groupSummaries(callingUser(req));
      send(res, 200, partial(req, groupListPage(await chrome(req, 'Groups'), groups)));
    }),
    { cost: COST.groupList },
  );

  route('get', '/groups/:group', 'session-user',
    wrap(async (req, res) => {
      const { group, access, principal } = grantedGroup(req);
      const t = (ctx.now ?? Date.now)();
      const span = chartWindow(t);
      // The audit trail is for co-owners and admins only, as on the API.
      // So are the webhooks: their URLs may carry credentials in their path.
      const [detail, arrivals, samples, audit, webhooks] = await Promise.all([
        ctx.groupDetail(group, access, principal),
        ctx.arrivals?.(group.name, span.from, span.to),
        ctx.groupSamples?.(group.name, span.from, span.to),
        canManage(access) ? ctx.auditRecords?.(group.name, AUDIT_VIEW_LIMIT) : undefined,
        canManage(access) ? ctx.webhooks?.(group.name) : undefined,
      ]);
      const data: GroupPageData = { ...detail, canManage: canManage(access), recent: detail.recentRuns, errors: detail.provisioningErrors, audit, webhooks };
      if (arrivals) data.history = historyChartData(arrivals, samples ?? [], t, { queued: detail.queued, running: detail.running, bots: detail.botCounts });
      const text = doneMessage(req.query);
      const flash = text ? ({ kind: 'info', text } as const) : undefined;
      send(res, 200, partial(req, groupPage(await chrome(req, group.name, flash), data)));
    }),
    { cost: COST.groupView, resource: 'group-user' },
  );

  const back = (res: Response, group: string, done: DoneKey, params: { run?: string; priority?: string } = {}) => {
    const query = new URLSearchParams({ done, ...params });
    res.redirect(303, `/groups/${encodeURIComponent(group)}?${query}`);
  };

  for (const action of ['pause', 'resume'] as const) {
    route('post', `/groups/:group/${action}`, 'session-user',
      wrap(async (req, res) => {
        const { group, principal } = grantedGroup(req);
        if (action === 'pause') await ctx.queue.pause(group.name, actingUser(req, 'dashboard'));
        else await ctx.queue.resume(group.name, actingUser(req, 'dashboard'));
        ctx.log(`group.${action}`, { group: group.name, by: principal.id, via: 'dashboard' });
        back(res, group.name, action === 'pause' ? 'paused' : 'resumed');
      }),
      { resource: 'group-co-owner', coOwnersMay: `${action} it` },
    );
  }

  route('post', '/runs/:id/cancel', 'session-user',
    wrap(async (req, res) => {
      const { run } = grantedRun(req);
      const result = await ctx.queue.cancel(run.id, actingUser(req, 'dashboard'));
      if (result.kind === 'final') throw new RuntimeError(409, 'run_finished', `run ${run.id} already ended as ${result.run.state}`);
      ctx.log('run.cancel', { runId: run.id, group: run.group, via: 'dashboard' });
      back(res, run.group, result.kind === 'cancelled' ? 'cancelled' : 'stopping', { run: run.id });
    }),
    { resource: 'run-owner-or-co-owner' },
  );

  route('post', '/runs/:id/move-to-top', 'session-user',
    wrap(async (req, res) => {
      const { run } = grantedRun(req);
      if (run.state !== 'queued') throw new RuntimeError(409, 'run_not_queued', `run ${run.id} is ${run.state}; only a queued run can move to the top`);
      await ctx.queue.moveToTop(run.id, actingUser(req, 'dashboard'));
      back(res, run.group, 'moved-to-top', { run: run.id });
    }),
    { resource: 'group-co-owner' },
  );

  route('post', '/runs/:id/priority', 'session-user',
    wrap(async (req, res) => {
      const { run } = grantedRun(req);
      const priority = req.body?.priority;
      if (!PRIORITIES.includes(priority)) throw new RuntimeError(400, 'invalid_request', `priority: must be one of ${PRIORITIES.join(', ')}`);
      if (run.state !== 'queued') throw new RuntimeError(409, 'run_not_queued', `run ${run.id} is ${run.state}; only a queued run's priority can change`);
      await ctx.queue.setPriority(run.id, priority as Priority, actingUser(req, 'dashboard'));
      back(res, run.group, 'priority', { run: run.id, priority });
    }),
    { resource: 'group-co-owner', coOwnersMay: 'change priorities from the dashboard' },
  );

  return {
    async renderError(req, res, err) {
      if (err.status === 401 && req.method === 'GET') {
        res.redirect(303, '/signin');
        return;
      }
      send(res, err.status, errorPage(await chrome(req, 'Error').catch(() => ({ title: 'Error' })), err.status, err.message));
    },
  };
}
