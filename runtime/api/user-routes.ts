/**
 * The users' routes: the environment, the groups a user sees, their queues and history, and
 * runs: enqueue, read, cancel, re-prioritise. The gate has resolved the group or run each route
 * names and checked the caller's role before a handler runs.
 */
import type { ManifestGroup } from '../config/manifest';
import { notFound, RuntimeError } from '../errors';
import type { Run, RunListing } from '../domain/run';
import { actingUser, callingUser, grantedGroup, grantedRun } from '../http/access';
import { Access, accessTo, canManage, canSeeRun, Principal } from '../http/auth';
import { parse } from '../http/input';
import { OPERATIONS } from './operations';
import { COST, HISTORY_SCAN_ROWS, pageCost } from '../http/limits';
import type { RouteContext } from './context';
import { accountSummaryView, botCounts, botView, groupSummary, provisioningErrorView, runShadow, runSummary, runView, runWaitReasons, scaleInView, waitReasons, warmUpView } from './views';
import { GroupViewState, groupViewState, readPublished } from '../scaler/published-view';

/** The group view lists the first runs of the queue; `queued` has the full count, and /queue pages the rest. */
export const QUEUE_VIEW_LIMIT = 50;
/** Finished runs on the group view; the history route pages the rest. */
export const RECENT_VIEW_LIMIT = 20;
/** The most runs one page of the history or the queue holds. */
export { PAGE_LIMIT } from '../http/input';

/** High priority jumps everyone's runs: co-owners and admins, and users where the group allows it. */
const mayQueueHigh = (group: ManifestGroup, access: Access) => canManage(access) || group.queue.highPriority === 'users';
const highPriorityRefused = (group: ManifestGroup) =>
  new RuntimeError(403, 'priority_not_allowed', `only co-owners of group ${group.name} may use priority high (its queue.highPriority is ${group.queue.highPriority}); send normal`);

/** What the group views of the API and the dashboard are built from, so both answer the same. */
export function groupViews(ctx: RouteContext) {
  const { manifest, store, scaler, now, expectedBootMs } = ctx;

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

  /**
   * What the scaler knows of the group: the leader's own memory, or on another replica what the
   * leader published, with when (`publishedAt`). A published view older than LEADER_STALE_MS is
   * a gone leader's: none of it is shown, and `leaderStale` says so.
   */
  const scalerView = async (group: string, t: number): Promise<{ state?: GroupViewState; publishedAt?: number; leaderStale: boolean }> => {
    if (scaler.isLeader) return { state: groupViewState(scaler.lastPlan?.groups[group], scaler.warmUpAccount(group), scaler.recentScaleIns(group), t), leaderStale: false };
    const read = readPublished(await store.publishedGroupView(group), t);
    return read.stale ? { publishedAt: read.publishedAt, leaderStale: true } : { state: read.state, publishedAt: read.publishedAt, leaderStale: false };
  };

  /** One group in full: bots, the start of the queue in order with why it waits, recent runs, errors. */
  const groupDetail = async (group: ManifestGroup, access: Access, principal: Principal) => {
    const t = now();
    const manager = canManage(access);
    const [states, counts, bots, queued, recent, errors, known] = await Promise.all([
      store.groups(),
      store.queueCounts(),
      store.bots(group.name),
      store.queue(group.name, QUEUE_VIEW_LIMIT),
      store.runs({ group: group.name, states: ['succeeded', 'failed', 'cancelled', 'expired'], limit: RECENT_VIEW_LIMIT }),
      store.provisioningErrors(group.name, 20),
      scalerView(group.name, t),
    ]);
    // A plain user sees the details of the bots running their own runs only.
    const ownRunning =
      manager || principal.kind !== 'user' || !bots.some((b) => b.currentRunId) ? [] : await store.runs({ group: group.name, states: ['running'], createdBy: principal.id, limit: bots.length });
    const own = new Set(ownRunning.map((r) => r.id));
    const plan = known.state?.plan;
    // Reasons name the other groups the caller may see; the rest are "another group".
    const visible = (name: string) => {
      const other = manifest.groups.find((g) => g.name === name);
      return other !== undefined && accessTo(principal, other) !== undefined;
    };
    const reasons = waitReasons(plan, bots, t, expectedBootMs, visible);
    const perRun = runWaitReasons(plan, bots, queued.length, t, expectedBootMs, visible);
    return {
      ...groupSummary(group, states.find((s) => s.name === group.name), bots, counts.find((c) => c.group === group.name) ?? { queued: 0, running: 0 }, access),
      flows: Object.keys(group.flows),
      bots: bots.map((b) => botView(b, t, manager || (b.currentRunId !== undefined && own.has(b.currentRunId)))),
      botCounts: botCounts(bots),
      queue: queued.map((r, i) => ({ position: i + 1, ...listed(r, principal, access, t), waitingBecause: perRun[i] })),
      waitingBecause: reasons,
      predictiveWarmUp: warmUpView(plan),
      warmUpAccount: accountSummaryView(known.state?.account, t, manifest.environment.timeZone),
      scaleIns: (known.state?.scaleIns ?? []).map((r) => scaleInView(r, group.name, visible)),
      publishedAt: known.publishedAt === undefined ? null : new Date(known.publishedAt).toISOString(),
      leaderStale: known.leaderStale,
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

  return { groupSummaries, groupDetail, environmentView, listed };
}

export type GroupViews = ReturnType<typeof groupViews>;

export function registerUserRoutes(ctx: RouteContext, views: GroupViews): void {
  const { serve, wrap, store, queue, now, log } = ctx;

  serve(OPERATIONS.getEnvironment,
    wrap(async (_req, res) => {
      res.json(await views.environmentView());
    }),
  );

  serve(OPERATIONS.listGroups,
    wrap(async (req, res) => {
      res.json({ groups: await views.groupSummaries(callingUser(req)) });
    }),
    { cost: COST.groupList },
  );

  serve(OPERATIONS.getGroup,
    wrap(async (req, res) => {
      const { group, access, principal } = grantedGroup(req);
      res.json(await views.groupDetail(group, access, principal));
    }),
    { cost: COST.groupView },
  );

  serve(OPERATIONS.listFlows,
    wrap(async (req, res) => {
      const { group } = grantedGroup(req);
      res.json({ flows: Object.entries(group.flows).map(([name, flow]) => ({ name, description: flow.description ?? null, timeoutMinutes: flow.timeoutMinutes })) });
    }),
  );

  serve(OPERATIONS.listQueue,
    wrap(async (req, res) => {
      const { group, access, principal } = grantedGroup(req);
      const query = parse(OPERATIONS.listQueue.query, req.query);
      const offset = query.offset ?? 0;
      const limit = query.limit ?? QUEUE_VIEW_LIMIT;
      const t = now();
      const runs = await store.queue(group.name, limit + 1, offset);
      const page = runs.slice(0, limit);
      res.json({ queue: page.map((r, i) => ({ position: offset + i + 1, ...views.listed(r, principal, access, t) })), next: runs.length > limit ? offset + limit : null });
    }),
    { cost: (req) => pageCost(req.query.limit) },
  );

  serve(OPERATIONS.startRun,
    wrap(async (req, res) => {
      const { group, access, principal } = grantedGroup(req);
      const body = parse(OPERATIONS.startRun.body, req.body);
      if (body.priority === 'high' && !mayQueueHigh(group, access)) throw highPriorityRefused(group);
      const key = req.headers['idempotency-key'];
      const idempotency = key === undefined ? undefined : parse(OPERATIONS.startRun.headers.shape['Idempotency-Key'], Array.isArray(key) ? key[0] : key, 'Idempotency-Key');
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
    { cost: (req) => 1 + Math.ceil(Number(req.headers['content-length'] ?? 0) / COST.perEnqueueBytes) },
  );

  serve(OPERATIONS.listRuns,
    wrap(async (req, res) => {
      const { group, access, principal } = grantedGroup(req);
      const query = parse(OPERATIONS.listRuns.query, req.query);
      const limit = query.limit ?? 50;
      // A plain user's history holds their own runs only, so the cursor is always one of theirs.
      const createdBy = canManage(access) ? undefined : principal.id;
      const page = await store.runHistory({ group: group.name, states: query.state, limit, before: query.before, createdBy, scan: HISTORY_SCAN_ROWS });
      // The page's price grows with the runs it read, not only with those it shows.
      req.charge?.(Math.floor(page.scanned / COST.perHistoryRowsRead));
      const t = now();
      res.json({ runs: page.runs.map((r) => runSummary(r, t)), next: page.next ?? null });
    }),
    { cost: (req) => pageCost(req.query.limit) },
  );

  serve(OPERATIONS.getRun,
    wrap(async (req, res) => {
      res.json(runView(grantedRun(req).run, now()));
    }),
  );

  serve(OPERATIONS.cancelRun,
    wrap(async (req, res) => {
      const { run } = grantedRun(req);
      parse(OPERATIONS.cancelRun.body, req.body);
      const result = await queue.cancel(run.id, actingUser(req, 'api'));
      if (result.kind === 'not_found') throw notFound('run_not_found', `run ${run.id} does not exist`);
      if (result.kind === 'final') throw new RuntimeError(409, 'run_finished', `run ${run.id} already ended as ${result.run.state}`);
      log('run.cancel', { runId: run.id, group: run.group, result: result.kind });
      res.status(result.kind === 'cancelled' ? 200 : 202).json(runView(result.run, now()));
    }),
  );

  serve(OPERATIONS.setRunPriority,
    wrap(async (req, res) => {
      const { run, group, access } = grantedRun(req);
      const body = parse(OPERATIONS.setRunPriority.body, req.body);
      if (body.priority === 'high' && !mayQueueHigh(group, access)) throw highPriorityRefused(group);
      if (run.state !== 'queued') throw new RuntimeError(409, 'run_not_queued', `run ${run.id} is ${run.state}; only a queued run's priority can change`);
      const updated = await queue.setPriority(run.id, body.priority as Run['priority'], actingUser(req, 'api'));
      res.json(runView(updated!, now()));
    }),
  );
}
