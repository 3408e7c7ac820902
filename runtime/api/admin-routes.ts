/**
 * The operators' routes: health, metrics, the API's OpenAPI document, and what co-owners (and
 * admins) do to a group's queue: pause, resume (which revives an expired group) and moving a run
 * to the top.
 */
import { RuntimeError } from '../errors';
import { actingUser, callingUser, grantedGroup, grantedRun } from '../http/access';
import { parse } from '../http/input';
import { OPERATIONS } from './operations';
import { OPENAPI_PATH, openApiDocument } from './openapi';
import type { RouteContext } from './context';
import { groupStatus, runView } from './views';

export function registerAdminRoutes(ctx: RouteContext): void {
  const { route, serve, wrap, store, queue, scaler, now, log, metrics } = ctx;

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

  // The API's shape and nothing of the environment (no host, no group): as public as the package.
  // Built once, so a stranger's request costs a copy of a string.
  const openApi = JSON.stringify(openApiDocument());
  route('get', OPENAPI_PATH, 'anyone',
    wrap(async (_req, res) => {
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.send(openApi);
    }),
  );

  serve(OPERATIONS.moveRunToTop,
    wrap(async (req, res) => {
      const { run } = grantedRun(req);
      parse(OPERATIONS.moveRunToTop.body, req.body);
      if (run.state !== 'queued') throw new RuntimeError(409, 'run_not_queued', `run ${run.id} is ${run.state}; only a queued run can move to the top`);
      const updated = await queue.moveToTop(run.id, actingUser(req, 'api'));
      res.json(runView(updated!, now()));
    }),
  );

  for (const [action, op] of [['pause', OPERATIONS.pauseGroup], ['resume', OPERATIONS.resumeGroup]] as const) {
    serve(op,
      wrap(async (req, res) => {
        const { group } = grantedGroup(req);
        parse(op.body, req.body);
        const actor = actingUser(req, 'api');
        const state = action === 'pause' ? await queue.pause(group.name, actor) : await queue.resume(group.name, actor);
        log(`group.${action}`, { group: group.name, by: callingUser(req).id });
        res.json({ name: group.name, state: groupStatus(state) });
      }),
      { coOwnersMay: `${action} it` },
    );
  }
}
