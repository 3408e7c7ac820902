/**
 * A group's audit trail, for its co-owners and the environment's admins: who changed its queue or
 * the group (priority, move to top, cancel, pause, resume), through what, when, and the fields
 * before and after (runtime/domain/audit.ts); newest first, paged.
 */
import type { AuditRecord } from '../domain/audit';
import { grantedGroup } from '../http/access';
import { parse } from '../http/input';
import { OPERATIONS } from './operations';
import { pageCost } from '../http/limits';
import type { RouteContext } from './context';

/** Records on a page unless `limit` says otherwise. */
export const AUDIT_PAGE_DEFAULT = 50;

/** A record as the API and the dashboard show it. */
export function auditRecordView(record: AuditRecord) {
  return {
    id: record.id,
    at: new Date(record.at).toISOString(),
    actor: record.actor,
    via: record.via,
    action: record.action,
    runId: record.runId ?? null,
    before: record.before,
    after: record.after,
  };
}

export type AuditRecordView = ReturnType<typeof auditRecordView>;

export function registerAuditRoutes(ctx: RouteContext): void {
  const { serve, wrap, store } = ctx;

  serve(OPERATIONS.listAuditRecords,
    wrap(async (req, res) => {
      const { group } = grantedGroup(req);
      const query = parse(OPERATIONS.listAuditRecords.query, req.query);
      const limit = query.limit ?? AUDIT_PAGE_DEFAULT;
      const records = await store.auditRecords({ group: group.name, limit: limit + 1, before: query.before });
      const page = records.slice(0, limit);
      res.json({ records: page.map(auditRecordView), next: records.length > limit ? page[page.length - 1].id : null });
    }),
    { cost: (req) => pageCost(req.query.limit), coOwnersMay: 'read its audit trail' },
  );
}
