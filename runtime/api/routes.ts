/**
 * The runtime's HTTP API, version 1. Every body is JSON; errors are `{ error: { code, message } }`;
 * every route but /healthz needs a token, checked by the gate of the route's access policy
 * (http/access.ts) before its handler runs; every input is validated with zod before anything
 * changes, and every change goes through the run queue. The server registers it on the shared
 * HTTP app (http/app.ts) beside the dashboard, and hands the dashboard the views it returns.
 */
import type { HttpApp } from '../http/app';
import { registerAdminRoutes } from './admin-routes';
import { registerAgentRoutes } from './agent-routes';
import { auditRecordView, AuditRecordView, registerAuditRoutes } from './audit-routes';
import type { ApiOptions, RouteContext } from './context';
import { groupViews, GroupViews, registerUserRoutes } from './user-routes';
import { registerWebhookRoutes } from './webhook-routes';

export type { ApiOptions } from './context';
export { PAGE_LIMIT, QUEUE_VIEW_LIMIT, RECENT_VIEW_LIMIT } from './user-routes';

/** What the API shows, for pages that show the same: the group views and a group's audit records. */
export interface ApiViews extends GroupViews {
  /** A group's latest audit records, newest first, as the API answers them. */
  auditRecords(group: string, limit: number): Promise<AuditRecordView[]>;
}

/** Registers the API's routes on the HTTP app; returns its views. */
export function registerApi(http: Pick<HttpApp, 'route' | 'wrap' | 'claimsPerBot'>, options: ApiOptions): ApiViews {
  const ctx: RouteContext = {
    ...options,
    route: http.route,
    serve: (op, handler, routeOptions) => http.route(op.method, op.path, op.access, handler, routeOptions),
    wrap: http.wrap,
    now: options.now ?? Date.now,
    log: options.log ?? (() => undefined),
    expectedBootMs: options.expectedBootMs ?? 10 * 60_000,
    claimsPerBot: http.claimsPerBot,
  };
  const views = groupViews(ctx);
  registerAdminRoutes(ctx);
  registerUserRoutes(ctx, views);
  registerAgentRoutes(ctx);
  registerAuditRoutes(ctx);
  registerWebhookRoutes(ctx);
  return { ...views, auditRecords: async (group, limit) => (await options.store.auditRecords({ group, limit })).map(auditRecordView) };
}
