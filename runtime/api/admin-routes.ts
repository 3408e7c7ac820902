/**
 * The operators' routes: health, metrics, and what co-owners (and admins) do to a group's queue:
 * pause, resume (which revives an expired group) and moving a run to the top.
 */
import { RuntimeError } from '../errors';
import { actingUser, callingUser, grantedGroup, grantedRun } from '../http/access';
import { emptyBody, parse } from '../http/input';
import type { RouteContext } from './context';
import { groupStatus, runView } from './views';

export function registerAdminRoutes(ctx: RouteContext): void {
  const { route, wrap, store, queue, scaler, now, log, metrics } = ctx;

  route('get', '/metrics', 'metrics-token',
    wrap(async (_req, res) => {
      res.setHeader('content-type', metrics!.registry.contentType);
      res.send(await metrics!.registry.metrics());
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

  route('post', '/v1/runs/:id/move-to-top', 'group-co-owner',
    wrap(async (req, res) => {
      const { run } = grantedRun(req);
      parse(emptyBody, req.body);
      if (run.state !== 'queued') throw new RuntimeError(409, 'run_not_queued', `run ${run.id} is ${run.state}; only a queued run can move to the top`);
      const updated = await queue.moveToTop(run.id, actingUser(req, 'api'));
      res.json(runView(updated!, now()));
    }),
  );

  for (const action of ['pause', 'resume'] as const) {
    route('post', `/v1/groups/:group/${action}`, 'group-co-owner',
      wrap(async (req, res) => {
        const { group } = grantedGroup(req);
        parse(emptyBody, req.body);
        const actor = actingUser(req, 'api');
        const state = action === 'pause' ? await queue.pause(group.name, actor) : await queue.resume(group.name, actor);
        log(`group.${action}`, { group: group.name, by: callingUser(req).id });
        res.json({ name: group.name, state: groupStatus(state) });
      }),
      { coOwnersMay: `${action} it` },
    );
  }
}
