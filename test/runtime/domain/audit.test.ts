/** Which change records what: the audit decision table, one row per action. */
import { AUDIT_ACTIONS, AUDITED, auditEntry, secretFingerprint } from '../../../runtime/domain/audit';
import type { GroupState } from '../../../runtime/domain/group';
import type { Run } from '../../../runtime/domain/run';

const AT = 1_700_000_000_000;
const LEAD = { id: 'finance-lead', via: 'dashboard' } as const;
const run = (fields: Partial<Run> = {}): Run =>
  ({ id: 'run_000000000000000000000001', group: 'finance', flow: 'invoice-entry', priority: 'normal', state: 'queued', cancelRequested: false, attempts: 0, ...fields }) as Run;
const group = (fields: Partial<GroupState> = {}): GroupState => ({ name: 'finance', paused: false, expired: false, declared: true, lastActivityAt: AT, backoffLevel: 0, ...fields });

describe('auditEntry', () => {
  test.each([
    ['priority', run(), run({ priority: 'high' }), { priority: 'normal' }, { priority: 'high' }],
    ['move-to-top', run(), run({ movedToTopAt: AT }), { movedToTopAt: null }, { movedToTopAt: AT }],
    ['move-to-top', run({ movedToTopAt: AT - 5 }), run({ movedToTopAt: AT }), { movedToTopAt: AT - 5 }, { movedToTopAt: AT }],
    ['cancel', run(), run({ state: 'cancelled' }), { state: 'queued', cancelRequested: false }, { state: 'cancelled', cancelRequested: false }],
    ['cancel', run({ state: 'running' }), run({ state: 'running', cancelRequested: true }), { state: 'running', cancelRequested: false }, { state: 'running', cancelRequested: true }],
  ] as const)('%s of a run records the run and its fields before and after', (action, before, after, was, is) => {
    expect(auditEntry(action, before, after, LEAD, AT)).toEqual({ group: 'finance', at: AT, actor: 'finance-lead', via: 'dashboard', action, runId: before.id, before: was, after: is });
  });

  test.each([
    ['pause', group(), group({ paused: true }), { paused: false }, { paused: true }],
    ['resume', group({ paused: true }), group(), { paused: true, expired: false }, { paused: false, expired: false }],
    ['resume', group({ expired: true }), group(), { paused: false, expired: true }, { paused: false, expired: false }],
  ] as const)('%s of a group records the group and its flags before and after, and no run', (action, before, after, was, is) => {
    const entry = auditEntry(action, before, after, { id: 'ops', via: 'api' }, AT);
    expect(entry).toEqual({ group: 'finance', at: AT, actor: 'ops', via: 'api', action, before: was, after: is });
    expect(entry).not.toHaveProperty('runId');
  });

  test.each([
    ['priority', run({ priority: 'high' }), run({ priority: 'high' })],
    ['cancel', run({ state: 'succeeded' }), run({ state: 'succeeded' })],
    ['cancel', run({ state: 'running', cancelRequested: true }), run({ state: 'running', cancelRequested: true })],
    ['move-to-top', run({ state: 'running' }), run({ state: 'running' })],
  ] as const)('%s that changes nothing records nothing', (action, before, after) => {
    expect(auditEntry(action, before, after, LEAD, AT)).toBeUndefined();
  });

  test('a pause of a paused group, and a change of what was not found, record nothing', () => {
    expect(auditEntry('pause', group({ paused: true }), group({ paused: true }), LEAD, AT)).toBeUndefined();
    expect(auditEntry('pause', undefined, undefined, LEAD, AT)).toBeUndefined();
    expect(auditEntry('cancel', run(), undefined, LEAD, AT)).toBeUndefined();
  });

  test('fields outside the action are neither compared nor recorded', () => {
    // A priority change that happened to meet a claim: only the priority is the co-owner's doing.
    expect(auditEntry('priority', run(), run({ priority: 'high', state: 'running' }), LEAD, AT)).toMatchObject({ before: { priority: 'normal' }, after: { priority: 'high' } });
    expect(auditEntry('priority', run(), run({ state: 'running' }), LEAD, AT)).toBeUndefined();
  });

  test("a webhook made or deleted is recorded against its group, its events listed and its URL without the query", () => {
    const webhook = {
      id: 'wh_1', group: 'finance', url: 'https://prod.logic.azure.com/workflows/1?sig=secret', events: ['run.failed', 'run.timed_out'] as const, format: 'teams' as const,
      secret: 'whsec_x', source: 'api' as const, createdBy: 'lead', createdAt: AT, waitAlerted: false,
    };
    const fields = { id: 'wh_1', url: 'https://prod.logic.azure.com/workflows/1?…', events: 'run.failed,run.timed_out', format: 'teams', waitAboveMinutes: null };
    const none = { id: null, url: null, events: null, format: null, waitAboveMinutes: null };
    expect(auditEntry('webhook-create', undefined, webhook, LEAD, AT)).toEqual({ group: 'finance', at: AT, actor: LEAD.id, via: LEAD.via, action: 'webhook-create', before: none, after: fields });
    expect(auditEntry('webhook-delete', webhook, undefined, LEAD, AT)).toMatchObject({ action: 'webhook-delete', before: fields, after: none });
    expect(JSON.stringify(auditEntry('webhook-create', undefined, webhook, LEAD, AT))).not.toMatch(/sig=|whsec_/);
  });

  test("a webhook's rotated secret is recorded by the fingerprints of its secrets, never the secrets", () => {
    const webhook = {
      id: 'wh_1', group: 'finance', url: 'https://hooks.example.com/in?key=x', events: ['run.failed'] as const, format: 'json' as const,
      secret: 'whsec_old', source: 'api' as const, createdBy: 'lead', createdAt: AT, waitAlerted: false,
    };
    const entry = auditEntry('webhook-rotate-secret', webhook, { ...webhook, secret: 'whsec_new', previousSecret: 'whsec_old', secretReplacedAt: AT }, LEAD, AT);
    expect(entry).toMatchObject({
      group: 'finance',
      action: 'webhook-rotate-secret',
      before: { id: 'wh_1', url: 'https://hooks.example.com/in?…', secret: secretFingerprint('whsec_old'), previousSecret: null, secretReplacedAt: null },
      after: { id: 'wh_1', url: 'https://hooks.example.com/in?…', secret: secretFingerprint('whsec_new'), previousSecret: secretFingerprint('whsec_old'), secretReplacedAt: AT },
    });
    expect(JSON.stringify(entry)).not.toMatch(/whsec_|key=/);
  });

  test("a secret's fingerprint is sha256: and the first 12 hex digits of the SHA-256 of the whole secret", () => {
    // printf %s whsec_old | sha256sum | cut -c1-12
    expect(secretFingerprint('whsec_old')).toBe('sha256:3d269a69854f');
    expect(secretFingerprint('whsec_new')).not.toBe(secretFingerprint('whsec_old'));
  });

  test('every action people take on a queue or a group has its row: priority, move to top, cancel, pause, resume, webhooks made, rotated and deleted', () => {
    expect(AUDIT_ACTIONS.sort()).toEqual(['cancel', 'move-to-top', 'pause', 'priority', 'resume', 'webhook-create', 'webhook-delete', 'webhook-rotate-secret']);
    for (const action of AUDIT_ACTIONS) expect(AUDITED[action].fields.length).toBeGreaterThan(0);
  });
});
