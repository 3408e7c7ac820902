/**
 * The Store contract. Every store implementation runs this same suite.
 */
import { testCredential } from '../../helpers/credentials';
import type { NewSubscription, Store } from '../../../runtime/store/types';
import type { NewDelivery } from '../../../runtime/domain/webhook';
import { newId } from '../../../runtime/store/ids';
import { secretFingerprint } from '../../../runtime/domain/audit';
import { ArrivalHistory, DAY_MS, SLOT_MS, SlotCounts, slotOf } from '../../../runtime/domain/history';

export type StoreFactory = () => Promise<{
  store: Store;
  reopen?: () => Promise<Store>;
  /** Runs SQL on the store's database from another connection, as an operator (or an attacker with its credentials) would. */
  sql: (text: string) => Promise<void>;
  cleanup?: () => Promise<void>;
}>;

const T0 = 1_700_000_000_000;
const CAPS = { maxBots: 5, capacity: 10 };
const VMSS = { subscriptionId: 'sub', resourceGroup: 'rg', name: 'vmss' };
/** Who makes the changes people make (cancel, priority, move to top, pause, resume). */
const LEAD = { id: 'lead', via: 'api' } as const;

export function storeSuite(name: string, factory: StoreFactory): void {
  describe(`${name} store`, () => {
    let store: Store;
    let env: Awaited<ReturnType<StoreFactory>>;

    beforeEach(async () => {
      env = await factory();
      store = env.store;
      await store.syncGroups([{ name: 'finance', vmss: VMSS }, { name: 'sales', vmss: VMSS }], T0);
    });

    afterEach(async () => {
      // When the factory failed, its own error is the one to see.
      await store?.close();
      await env?.cleanup?.();
    });

    const enqueue = (overrides: Partial<Parameters<Store['enqueue']>[0]> = {}) =>
      store.enqueue({ id: newId('run'), group: 'finance', flow: 'invoice', inputs: { n: 1 }, priority: 'normal', createdBy: 'ana', timeoutMinutes: 30, now: T0, ...overrides });

    /** A bot the scaler made for a VM it listed, whose agent registered. */
    async function idleBot(group = 'finance', vm = `vm-${Math.random().toString(16).slice(2, 10)}`) {
      await store.bindVms(group, [{ name: vm }], 'img', CAPS, T0);
      const result = await store.register(group, { vmName: vm }, T0, testCredential());
      expect(result.kind).toBe('registered');
      return result.bot!;
    }

    async function claimed(botId: string, group = 'finance', now = T0) {
      const result = await store.claim({ botId, group, now, enabled: true });
      if (result.kind !== 'claimed') throw new Error(`expected a claim, got ${result.kind}`);
      return result.run;
    }

    describe('migrations', () => {
      test('reopening an existing store keeps its data and applies nothing twice', async () => {
        if (!env.reopen) return;
        const { run } = (await enqueue()) as { run: { id: string } };
        await store.close();
        store = await env.reopen();
        expect((await store.getRun(run.id))?.state).toBe('queued');
      });
    });

    describe('enqueue', () => {
      test('creates a queued run', async () => {
        const result = await enqueue();
        expect(result).toMatchObject({ kind: 'created', run: { state: 'queued', group: 'finance', inputs: { n: 1 }, attempts: 0 } });
      });

      test('the same idempotency key from the same caller returns the same run', async () => {
        const first = await enqueue({ idempotencyKey: 'k1' });
        const second = await enqueue({ idempotencyKey: 'k1', flow: 'other' });
        expect(second.kind).toBe('existing');
        expect((second as { run: { id: string } }).run.id).toBe((first as { run: { id: string } }).run.id);
        expect((await store.queue('finance')).length).toBe(1);
      });

      test('the same key from another caller is another run', async () => {
        await enqueue({ idempotencyKey: 'k1' });
        expect((await enqueue({ idempotencyKey: 'k1', createdBy: 'bo' })).kind).toBe('created');
      });

      test('an unknown group is refused and nothing is stored', async () => {
        expect(await enqueue({ group: 'nope' })).toEqual({ kind: 'refused', reason: 'group_unknown' });
        expect(await store.queueCounts()).toEqual([]);
      });
    });

    describe('queueCounts', () => {
      test('counts queued and running runs per group, with when the oldest queued run entered the queue', async () => {
        await enqueue({ now: T0 + 5 });
        await enqueue({ now: T0 + 2, priority: 'high' });
        await enqueue({ now: T0 + 9 });
        await enqueue({ group: 'sales', now: T0 + 7 });
        await claimed((await idleBot()).id, 'finance', T0 + 20);
        const byGroup = Object.fromEntries((await store.queueCounts()).map((c) => [c.group, c]));
        // The high-priority run (T0 + 2) was claimed first: the oldest still queued came at T0 + 5.
        expect(byGroup.finance).toEqual({ group: 'finance', queued: 2, running: 1, oldestQueuedAt: T0 + 5 });
        expect(byGroup.sales).toEqual({ group: 'sales', queued: 1, running: 0, oldestQueuedAt: T0 + 7 });
        // Capped counts carry the same time.
        const capped = Object.fromEntries((await store.queueCounts(1)).map((c) => [c.group, c]));
        expect(capped.finance).toEqual({ group: 'finance', queued: 1, running: 1, oldestQueuedAt: T0 + 5 });
      });

      test('a group with only running runs has no oldest queued time', async () => {
        await enqueue();
        await claimed((await idleBot()).id);
        for (const counts of [await store.queueCounts(), await store.queueCounts(5)]) expect(counts).toEqual([{ group: 'finance', queued: 0, running: 1 }]);
      });
    });

    describe('claim', () => {
      test('move-to-top first, then high priority, then FIFO', async () => {
        const ids: string[] = [];
        for (const [i, priority] of (['normal', 'high', 'normal', 'high'] as const).entries()) {
          const r = await enqueue({ priority, now: T0 + i });
          ids.push((r as { run: { id: string } }).run.id);
        }
        await store.moveToTop(ids[2], T0 + 10, LEAD);
        expect((await store.queue('finance')).map((r) => r.id)).toEqual([ids[2], ids[1], ids[3], ids[0]]);
        const bot = await idleBot();
        expect((await claimed(bot.id)).id).toBe(ids[2]);
      });

      test('the latest move to the top goes first', async () => {
        const a = (await enqueue()) as { run: { id: string } };
        const b = (await enqueue()) as { run: { id: string } };
        await store.moveToTop(a.run.id, T0 + 1, LEAD);
        await store.moveToTop(b.run.id, T0 + 1, LEAD);
        expect((await store.queue('finance')).map((r) => r.id)).toEqual([b.run.id, a.run.id]);
      });

      test('starts the run on the bot and makes the bot busy', async () => {
        await enqueue();
        const bot = await idleBot();
        const run = await claimed(bot.id, 'finance', T0 + 5);
        expect(run).toMatchObject({ state: 'running', attempts: 1, botId: bot.id, startedAt: T0 + 5 });
        expect((await store.getBot(bot.id))?.state).toBe('busy');
      });

      test('a busy bot gets nothing more', async () => {
        await enqueue();
        await enqueue();
        const bot = await idleBot();
        await claimed(bot.id);
        expect((await store.claim({ botId: bot.id, group: 'finance', now: T0, enabled: true })).kind).toBe('none');
      });

      test('a bot of another group cannot take the run', async () => {
        await enqueue();
        const bot = await idleBot('sales');
        expect((await store.claim({ botId: bot.id, group: 'finance', now: T0, enabled: true })).kind).toBe('gone');
        expect((await store.claim({ botId: bot.id, group: 'sales', now: T0, enabled: true })).kind).toBe('none');
      });

      test('nothing starts while the group is paused, or the environment disabled', async () => {
        await enqueue();
        const bot = await idleBot();
        await store.setPaused('finance', true, T0, LEAD);
        expect((await store.claim({ botId: bot.id, group: 'finance', now: T0, enabled: true })).kind).toBe('none');
        await store.setPaused('finance', false, T0, LEAD);
        expect((await store.claim({ botId: bot.id, group: 'finance', now: T0, enabled: false })).kind).toBe('none');
        expect((await store.claim({ botId: bot.id, group: 'finance', now: T0, enabled: true })).kind).toBe('claimed');
      });

      test('a claim limit caps the busy bots of a group', async () => {
        await enqueue();
        await enqueue();
        const [a, b] = [await idleBot(), await idleBot()];
        await store.setClaimLimits({ finance: 1 });
        await claimed(a.id);
        expect((await store.claim({ botId: b.id, group: 'finance', now: T0, enabled: true })).kind).toBe('none');
        await store.setClaimLimits({ finance: undefined });
        expect((await store.claim({ botId: b.id, group: 'finance', now: T0, enabled: true })).kind).toBe('claimed');
      });

      test('a bot being deleted is told it is gone and takes nothing', async () => {
        await enqueue();
        const bot = await idleBot();
        expect(await store.markDeleting([bot.id], ['idle'], T0)).toHaveLength(1);
        expect(await store.claim({ botId: bot.id, group: 'finance', now: T0, enabled: true })).toEqual({ kind: 'gone', state: 'deleting' });
        expect((await store.queue('finance')).length).toBe(1);
      });
    });

    describe('scale-in race', () => {
      test('markDeleting only takes idle bots: a bot that just claimed stays', async () => {
        await enqueue();
        const bot = await idleBot();
        await claimed(bot.id);
        expect(await store.markDeleting([bot.id], ['idle'], T0)).toEqual([]);
        expect((await store.getBot(bot.id))?.state).toBe('busy');
      });

      test('markDeleting honours the idle cut-off, re-checked in the transaction', async () => {
        const bot = await idleBot();
        expect(await store.markDeleting([bot.id], ['idle'], T0 + 1000, T0 - 1)).toEqual([]);
        expect(await store.markDeleting([bot.id], ['idle'], T0 + 1000, T0)).toHaveLength(1);
      });

      test('concurrent claims and scale-ins never give a run to a deleting bot', async () => {
        for (let i = 0; i < 20; i++) await enqueue({ now: T0 + i });
        const bots = [];
        for (let i = 0; i < 5; i++) bots.push(await idleBot());
        const outcomes = await Promise.all(
          bots.flatMap((b) => [store.claim({ botId: b.id, group: 'finance', now: T0 + 100, enabled: true }), store.markDeleting([b.id], ['idle'], T0 + 100)]),
        );
        for (const b of bots) {
          const bot = (await store.getBot(b.id))!;
          if (bot.state === 'busy') expect((await store.getRun(bot.currentRunId!))?.botId).toBe(b.id);
          else expect(bot.state).toBe('deleting');
        }
        const running = (await store.queueCounts()).find((c) => c.group === 'finance')!.running;
        expect(running).toBe((await store.bots('finance')).filter((b) => b.state === 'busy').length);
        expect(outcomes).toHaveLength(10);
      });
    });

    describe('complete', () => {
      test('records the result and frees the bot', async () => {
        await enqueue();
        const bot = await idleBot();
        const run = await claimed(bot.id);
        const done = await store.complete({ botId: bot.id, runId: run.id, attempt: 1, status: 'succeeded', exitCode: 0, output: 'ok', now: T0 + 50 });
        expect(done).toMatchObject({ kind: 'completed', run: { state: 'succeeded', exitCode: 0, output: 'ok', finishedAt: T0 + 50 } });
        expect(await store.getBot(bot.id)).toMatchObject({ state: 'idle', runsCompleted: 1 });
      });

      test('a retried completion is a duplicate and changes nothing', async () => {
        await enqueue();
        const bot = await idleBot();
        const run = await claimed(bot.id);
        await store.complete({ botId: bot.id, runId: run.id, attempt: 1, status: 'failed', exitCode: 2, now: T0 + 50 });
        const again = await store.complete({ botId: bot.id, runId: run.id, attempt: 1, status: 'succeeded', exitCode: 0, now: T0 + 60 });
        expect(again).toMatchObject({ kind: 'duplicate', run: { state: 'failed', exitCode: 2, errorCode: 'exit_code' } });
      });

      test('a report from an old attempt is stale', async () => {
        await enqueue();
        const bot = await idleBot();
        const run = await claimed(bot.id);
        expect((await store.complete({ botId: bot.id, runId: run.id, attempt: 7, status: 'succeeded', now: T0 })).kind).toBe('stale');
        expect((await store.getRun(run.id))?.state).toBe('running');
      });
    });

    describe('text the API admits', () => {
      // JSON admits `\u0000` and lone surrogates, so the API does; PostgreSQL refuses U+0000 in
      // TEXT, and neither store keeps a lone surrogate as it is (runtime/domain/text.ts).
      const given = ['nul\u0000inside', 'high \ud800 alone', 'low \udc00 alone', 'pair 😀 kept', 'controls \u0001\u001f\t kept', 'ü ﬀ 日本'];
      const kept = ['nul\ufffdinside', 'high \ufffd alone', 'low \ufffd alone', 'pair 😀 kept', 'controls \u0001\u001f\t kept', 'ü ﬀ 日本'];

      test('inputs keep every string exactly, NUL and lone surrogates included, in keys and values', async () => {
        const inputs = Object.fromEntries(given.map((text, i) => [`${text}:${i}`, text]));
        const { run } = (await enqueue({ inputs })) as { run: { id: string } };
        expect((await store.getRun(run.id))?.inputs).toEqual(inputs);
      });

      test('output and error text keep each NUL and lone surrogate as U+FFFD, everything else as given', async () => {
        await enqueue();
        const bot = await idleBot();
        const run = await claimed(bot.id);
        const report = { botId: bot.id, runId: run.id, attempt: 1, status: 'failed' as const, exitCode: 1, output: given.join('\n'), errorCode: 'code\u0000\ud800', errorMessage: given.join(' | ') };
        const done = await store.complete({ ...report, now: T0 + 50 });
        expect(done).toMatchObject({ kind: 'completed', run: { state: 'failed', output: kept.join('\n'), errorCode: 'code\ufffd\ufffd', errorMessage: kept.join(' | ') } });
        expect(await store.getRun(run.id)).toMatchObject({ output: kept.join('\n'), errorCode: 'code\ufffd\ufffd', errorMessage: kept.join(' | ') });
        // The agent's retry of the same report is a duplicate, not an error.
        expect((await store.complete({ ...report, now: T0 + 60 })).kind).toBe('duplicate');
      });

      test('a flow name, a principal and an idempotency key with a NUL or a lone surrogate are kept as U+FFFD, and the key still answers a retry', async () => {
        const first = await enqueue({ flow: 'invoice\u0000entry', createdBy: 'ana\ud800', idempotencyKey: 'key\u0000\udc00' });
        expect(first).toMatchObject({ kind: 'created', run: { flow: 'invoice\ufffdentry', createdBy: 'ana\ufffd', idempotencyKey: 'key\ufffd\ufffd' } });
        const retry = await enqueue({ flow: 'invoice\u0000entry', createdBy: 'ana\ud800', idempotencyKey: 'key\u0000\udc00' });
        expect(retry).toMatchObject({ kind: 'existing', run: { id: (first as { run: { id: string } }).run.id } });
        expect((await store.queue('finance')).map((r) => r.flow)).toEqual(['invoice\ufffdentry']);
      });

      test('provisioning errors keep their text the same way', async () => {
        await store.recordProvisioningError({ group: 'finance', at: T0, operation: 'setCapacity', code: 'Quota\u0000Exceeded', message: given.join(' ') });
        expect(await store.provisioningErrors('finance', 1)).toEqual([{ group: 'finance', at: T0, operation: 'setCapacity', code: 'Quota\ufffdExceeded', message: kept.join(' ') }]);
      });
    });

    describe('cancel', () => {
      test('a queued run is cancelled at once', async () => {
        const { run } = (await enqueue()) as { run: { id: string } };
        expect(await store.cancel(run.id, T0 + 1, LEAD)).toMatchObject({ kind: 'cancelled', run: { state: 'cancelled' } });
      });

      test('a running run is asked to stop; the heartbeat tells the agent; it ends cancelled', async () => {
        await enqueue();
        const bot = await idleBot();
        const run = await claimed(bot.id);
        expect((await store.cancel(run.id, T0 + 1, LEAD)).kind).toBe('cancel_requested');
        expect(await store.heartbeat(bot.id, run.id, 1, T0 + 2)).toEqual({ kind: 'ok', cancel: true });
        const done = await store.complete({ botId: bot.id, runId: run.id, attempt: 1, status: 'cancelled', exitCode: 130, now: T0 + 3 });
        expect(done).toMatchObject({ kind: 'completed', run: { state: 'cancelled' } });
      });

      test('a finished run cannot be cancelled', async () => {
        const { run } = (await enqueue()) as { run: { id: string } };
        await store.cancel(run.id, T0, LEAD);
        expect((await store.cancel(run.id, T0, LEAD)).kind).toBe('final');
      });
    });

    describe('audit trail', () => {
      const CLERK = { id: 'clerk', via: 'dashboard' } as const;
      const trail = (group = 'finance') => store.auditRecords({ group, limit: 100 });
      const queued = async () => ((await enqueue()) as { run: { id: string } }).run.id;

      test('a priority change records who, through what, when, the run and the priority before and after; the same priority again records nothing', async () => {
        const id = await queued();
        await store.setPriority(id, 'high', T0 + 5, CLERK);
        await store.setPriority(id, 'high', T0 + 6, LEAD);
        expect(await trail()).toEqual([
          { id: expect.any(Number), group: 'finance', at: T0 + 5, actor: 'clerk', via: 'dashboard', action: 'priority', runId: id, before: { priority: 'normal' }, after: { priority: 'high' } },
        ]);
      });

      test('a move to the top records when the run went to the top', async () => {
        const id = await queued();
        const moved = await store.moveToTop(id, T0 + 7, LEAD);
        expect(await trail()).toEqual([
          expect.objectContaining({ action: 'move-to-top', runId: id, actor: 'lead', via: 'api', at: T0 + 7, before: { movedToTopAt: null }, after: { movedToTopAt: moved!.movedToTopAt } }),
        ]);
      });

      test("a cancel records the run's state, or the cancel asked of a running run; a cancel that changes nothing records nothing", async () => {
        const waiting = await queued();
        await store.cancel(waiting, T0 + 1, LEAD);
        await store.cancel(waiting, T0 + 2, LEAD);
        await enqueue();
        const run = await claimed((await idleBot()).id);
        await store.cancel(run.id, T0 + 3, CLERK);
        await store.cancel(run.id, T0 + 4, CLERK);
        expect((await trail()).map((r) => [r.action, r.runId, r.actor, r.at, r.before, r.after])).toEqual([
          ['cancel', run.id, 'clerk', T0 + 3, { state: 'running', cancelRequested: false }, { state: 'running', cancelRequested: true }],
          ['cancel', waiting, 'lead', T0 + 1, { state: 'queued', cancelRequested: false }, { state: 'cancelled', cancelRequested: false }],
        ]);
      });

      test("pause and resume record the group's flags, a revive its expiry too; a pause of a paused group records nothing", async () => {
        await store.setPaused('finance', true, T0 + 1, LEAD);
        await store.setPaused('finance', true, T0 + 2, LEAD);
        await store.setPaused('finance', false, T0 + 3, CLERK);
        const inactive = { name: 'finance', queueTimeoutMs: 1000, heartbeatTimeoutMs: 300, idleSilenceMs: 5000, maxAttempts: 2, inactiveMs: 10, committedBots: 0 };
        expect((await store.sweep([inactive], T0 + 10_000)).expiredGroups).toEqual(['finance']);
        await store.revive('finance', T0 + 20_000, LEAD);
        expect((await trail()).map((r) => [r.action, r.actor, r.at, r.before, r.after, r.runId])).toEqual([
          ['resume', 'lead', T0 + 20_000, { paused: false, expired: true }, { paused: false, expired: false }, undefined],
          ['resume', 'clerk', T0 + 3, { paused: true, expired: false }, { paused: false, expired: false }, undefined],
          ['pause', 'lead', T0 + 1, { paused: false }, { paused: true }, undefined],
        ]);
        expect(await trail('sales')).toEqual([]);
      });

      test('a change of a run or group that does not exist records nothing', async () => {
        expect(await store.setPaused('nope', true, T0, LEAD)).toBeUndefined();
        expect((await store.cancel(`run_${'0'.repeat(24)}`, T0, LEAD)).kind).toBe('not_found');
        expect(await store.setPriority(`run_${'0'.repeat(24)}`, 'high', T0, LEAD)).toBeUndefined();
        expect(await trail('nope')).toEqual([]);
      });

      test("each group has its own trail, newest first, paged by ID; the actor's text is kept as stores keep text", async () => {
        for (let i = 0; i < 5; i++) await store.setPaused('finance', i % 2 === 0, T0 + i, LEAD);
        await store.setPaused('sales', true, T0, { id: 'ops\u0000', via: 'api' });
        const all = await trail();
        expect(all.map((r) => r.at)).toEqual([T0 + 4, T0 + 3, T0 + 2, T0 + 1, T0]);
        expect((await store.auditRecords({ group: 'finance', limit: 2, before: all[1].id })).map((r) => r.at)).toEqual([T0 + 2, T0 + 1]);
        expect((await trail('sales')).map((r) => [r.action, r.actor])).toEqual([['pause', 'ops\ufffd']]);
      });

      test('retention deletes the records written before the cutoff, oldest first, at most the limit a pass, and leaves the runs', async () => {
        for (let i = 0; i < 4; i++) await store.setPaused('finance', i % 2 === 0, T0 + i * 1000, LEAD);
        const id = await queued();
        expect(await store.forget({ runsFinishedBefore: T0 + 2500, idempotencyKeysBefore: 0, auditRecordsBefore: T0 + 2500, limit: 2 })).toEqual({ runs: 0, keys: 0, audit: 2 });
        expect((await trail()).map((r) => r.at)).toEqual([T0 + 3000, T0 + 2000]);
        expect((await store.forget({ runsFinishedBefore: T0 + 2500, idempotencyKeysBefore: 0, auditRecordsBefore: T0 + 2500, limit: 2 })).audit).toBe(1);
        expect((await trail()).map((r) => r.at)).toEqual([T0 + 3000]);
        expect((await store.getRun(id))?.state).toBe('queued');
      });

      test('a change whose record cannot be written does not happen: the two commit together', async () => {
        const id = await queued();
        await env.sql(
          store.kind === 'sqlite'
            ? `CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_records BEGIN SELECT RAISE(ABORT, 'refused for the test'); END;`
            : `CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$;
               CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_records FOR EACH ROW EXECUTE FUNCTION refuse_audit();`,
        );
        // Matched by message: better-sqlite3's SqliteError is not an Error of the test's realm.
        const refused = { message: expect.stringMatching(/refused for the test/) };
        await expect(store.setPriority(id, 'high', T0, LEAD)).rejects.toMatchObject(refused);
        await expect(store.moveToTop(id, T0, LEAD)).rejects.toMatchObject(refused);
        await expect(store.cancel(id, T0, LEAD)).rejects.toMatchObject(refused);
        await expect(store.setPaused('finance', true, T0, LEAD)).rejects.toMatchObject(refused);
        expect(await store.getRun(id)).toMatchObject({ state: 'queued', priority: 'normal', movedToTopAt: undefined });
        expect((await store.groups()).find((g) => g.name === 'finance')?.paused).toBe(false);
      });

      test('a record cannot be changed once written: the database refuses it', async () => {
        await store.setPaused('finance', true, T0, LEAD);
        await expect(env.sql(`UPDATE audit_records SET actor = 'someone else'`)).rejects.toMatchObject({ message: expect.stringMatching(/append-only/) });
        expect((await trail()).map((r) => r.actor)).toEqual(['lead']);
      });
    });

    describe('sweep', () => {
      const settings = { name: 'finance', queueTimeoutMs: 1000, heartbeatTimeoutMs: 300, idleSilenceMs: 5000, maxAttempts: 2, inactiveMs: 10_000, committedBots: 0 };

      test('a run waiting longer than the queue time-out expires', async () => {
        const { run } = (await enqueue()) as { run: { id: string } };
        expect((await store.sweep([settings], T0 + 999)).expired).toEqual([]);
        const result = await store.sweep([settings], T0 + 1001);
        expect(result.expired.map((r) => r.id)).toEqual([run.id]);
        expect(await store.getRun(run.id)).toMatchObject({ state: 'expired', errorCode: 'queue_timeout' });
      });

      test('a run longer than its flow time-out fails with run_timeout', async () => {
        await enqueue({ timeoutMinutes: 0.001 });
        const bot = await idleBot();
        const run = await claimed(bot.id);
        await store.heartbeat(bot.id, run.id, 1, T0 + 70);
        const result = await store.sweep([settings], T0 + 100);
        expect(result.timedOut.map((r) => r.id)).toEqual([run.id]);
        expect(await store.getRun(run.id)).toMatchObject({ state: 'failed', errorCode: 'run_timeout' });
        // The agent learns it from the heartbeat, and its late report frees the bot.
        expect(await store.heartbeat(bot.id, run.id, 1, T0 + 110)).toEqual({ kind: 'ok', cancel: true });
        expect((await store.complete({ botId: bot.id, runId: run.id, attempt: 1, status: 'cancelled', now: T0 + 120 })).kind).toBe('stale');
        expect((await store.getBot(bot.id))?.state).toBe('idle');
      });

      test('a bot whose heartbeat stops is lost: its run is queued again with one more attempt', async () => {
        await enqueue();
        const bot = await idleBot();
        const run = await claimed(bot.id);
        const result = await store.sweep([settings], T0 + 301);
        expect(result.lostBots).toEqual([bot.id]);
        expect(result.requeued.map((r) => r.id)).toEqual([run.id]);
        expect(await store.getRun(run.id)).toMatchObject({ state: 'queued', attempts: 1 });
        expect((await store.getBot(bot.id))?.state).toBe('failed');
      });

      test('after maxAttempts a lost run fails with bot_lost', async () => {
        await enqueue();
        const a = await idleBot();
        const run = await claimed(a.id);
        await store.sweep([settings], T0 + 301);
        const b = await idleBot();
        await claimed(b.id, 'finance', T0 + 400);
        const result = await store.sweep([settings], T0 + 800);
        expect(result.failedLost.map((r) => r.id)).toEqual([run.id]);
        expect(await store.getRun(run.id)).toMatchObject({ state: 'failed', attempts: 2, errorCode: 'bot_lost' });
      });

      test('a group with no runs for inactiveDays expires, and can be revived', async () => {
        const result = await store.sweep([settings], T0 + 10_001);
        expect(result.expiredGroups).toEqual(['finance']);
        expect(await enqueue()).toEqual({ kind: 'refused', reason: 'group_expired' });
        await store.revive('finance', T0 + 20_000, LEAD);
        expect((await enqueue()).kind).toBe('created');
      });

      test('a group with committed bots never expires', async () => {
        expect((await store.sweep([{ ...settings, committedBots: 1 }], T0 + 10_001)).expiredGroups).toEqual([]);
      });
    });

    describe('bots', () => {
      test('createBots never goes beyond maxBots or the capacity, counting every live bot', async () => {
        expect(await store.createBots('finance', 4, 'img', { maxBots: 3, capacity: 10 }, T0)).toHaveLength(3);
        expect(await store.createBots('finance', 4, 'img', { maxBots: 3, capacity: 10 }, T0)).toHaveLength(0);
        expect(await store.createBots('sales', 9, 'img', { maxBots: 9, capacity: 5 }, T0)).toHaveLength(2);
      });

      test('bots being deleted still count until ARM confirms', async () => {
        const [bot] = await store.createBots('finance', 1, 'img', { maxBots: 1, capacity: 10 }, T0);
        await store.markFailed([bot.id], 'test', T0);
        await store.markDeleting([bot.id], ['failed'], T0);
        expect(await store.createBots('finance', 1, 'img', { maxBots: 1, capacity: 10 }, T0)).toHaveLength(0);
        await store.markDeleted([bot.id], T0, {});
        expect(await store.createBots('finance', 1, 'img', { maxBots: 1, capacity: 10 }, T0)).toHaveLength(1);
      });

      test('VMs bind to waiting bots first, are adopted within the caps, and the rest are left over', async () => {
        await store.createBots('finance', 1, 'img', { maxBots: 2, capacity: 10 }, T0);
        const result = await store.bindVms('finance', [{ name: 'vm-a' }, { name: 'vm-b' }, { name: 'vm-c' }], 'img', { maxBots: 2, capacity: 10 }, T0);
        expect(result.bound.map((b) => b.vmName)).toEqual(['vm-a', 'vm-b']);
        expect(result.unplaced).toEqual(['vm-c']);
        expect((await store.bots('finance')).every((b) => b.state === 'provisioning')).toBe(true);
      });

      test('a VM keeps the vmId ARM listed; one listed without learns it later, and a vmId is never held twice', async () => {
        await store.createBots('finance', 1, 'img', CAPS, T0);
        await store.bindVms('finance', [{ name: 'vm-a', vmId: 'id-a' }, { name: 'vm-b' }], 'img', CAPS, T0);
        await store.bindVms('finance', [{ name: 'vm-b', vmId: 'id-b' }, { name: 'vm-c', vmId: 'id-a' }], 'img', CAPS, T0);
        const bots = Object.fromEntries((await store.bots('finance')).map((b) => [b.vmName, b.vmId]));
        expect(bots).toEqual({ 'vm-a': 'id-a', 'vm-b': 'id-b', 'vm-c': undefined });
      });

      test('registering moves a provisioning bot to idle; a second registration of its VM is refused', async () => {
        await store.bindVms('finance', [{ name: 'vm-a' }], 'img', CAPS, T0);
        const first = await store.register('finance', { vmName: 'vm-a' }, T0 + 5, testCredential());
        expect(first.bot).toMatchObject({ state: 'idle', registeredAt: T0 + 5, vmName: 'vm-a' });
        const again = await store.register('finance', { vmName: 'vm-a' }, T0 + 6, testCredential());
        expect(again).toMatchObject({ kind: 'refused', refusal: 'vm_name_taken', reason: expect.stringMatching(/^VM vm-a is already registered as bot /) });
        expect(again.bot).toBeUndefined();
      });

      test('a bot is found by its credential while it lives, and by no other', async () => {
        const credential = testCredential();
        await store.bindVms('finance', [{ name: 'vm-c' }], 'img', CAPS, T0);
        const { bot } = await store.register('finance', { vmName: 'vm-c' }, T0, credential);
        expect((await store.botByCredential(credential))?.id).toBe(bot!.id);
        expect(await store.botByCredential(testCredential())).toBeUndefined();
        await store.markDeleting([bot!.id], ['idle'], T0 + 1);
        await store.markDeleted([bot!.id], T0 + 2, { finance: 3 });
        expect(await store.botByCredential(credential)).toBeUndefined();
      });

      test('a name no scale-out created is refused, and registering makes no bot and binds no VM, even with bots waiting', async () => {
        const [waiting] = await store.createBots('finance', 1, 'img', CAPS, T0);
        const result = await store.register('finance', { vmName: 'vm-invented' }, T0, testCredential());
        expect(result).toMatchObject({ kind: 'refused', refusal: 'vm_not_created' });
        expect(await store.bots()).toEqual([waiting]);
      });

      test('registration is refused for a failed bot and for a VM of another group', async () => {
        const [bot] = await store.bindVms('finance', [{ name: 'vm-a' }], 'img', CAPS, T0).then((r) => r.bound);
        await store.markFailed([bot.id], 'boot_timeout', T0);
        expect(await store.register('finance', { vmName: 'vm-a' }, T0, testCredential())).toMatchObject({ kind: 'refused', refusal: 'bot_ended' });
        await store.bindVms('sales', [{ name: 'vm-s' }], 'img', CAPS, T0);
        expect(await store.register('finance', { vmName: 'vm-s' }, T0, testCredential())).toMatchObject({ kind: 'refused', refusal: 'vm_of_another_group' });
        expect((await store.bots('sales'))[0].registeredAt).toBeUndefined();
      });

      describe('by attested vmId', () => {
        const NONCE_TTL = 300_000;
        const nonce = async (group: string, value: string, now = T0) => expect(await store.issueNonce(group, value, now, now + NONCE_TTL, 10)).toEqual({ kind: 'issued' });

        test('registers the bot holding the vmId, whatever its name, and uses the nonce up', async () => {
          await store.bindVms('finance', [{ name: 'vm-a', vmId: 'id-a' }], 'img', CAPS, T0);
          await nonce('finance', '0000000001');
          const result = await store.register('finance', { vmId: 'id-a', nonce: '0000000001' }, T0 + 1, testCredential());
          expect(result.bot).toMatchObject({ state: 'idle', vmName: 'vm-a', vmId: 'id-a' });
          await store.bindVms('finance', [{ name: 'vm-b', vmId: 'id-b' }], 'img', CAPS, T0);
          expect(await store.register('finance', { vmId: 'id-b', nonce: '0000000001' }, T0 + 2, testCredential())).toMatchObject({ kind: 'refused', refusal: 'nonce_invalid' });
        });

        test.each([
          ['never issued', async () => undefined, T0 + 1],
          ['issued to another group', () => nonce('sales', '0000000002'), T0 + 1],
          ['expired', () => nonce('finance', '0000000002'), T0 + NONCE_TTL + 1],
        ])('a nonce %s is refused, and the bot stays unregistered', async (_, issue, at) => {
          await store.bindVms('finance', [{ name: 'vm-a', vmId: 'id-a' }], 'img', CAPS, T0);
          await issue();
          expect(await store.register('finance', { vmId: 'id-a', nonce: '0000000002' }, at, testCredential())).toMatchObject({ kind: 'refused', refusal: 'nonce_invalid' });
          expect((await store.bots('finance'))[0].registeredAt).toBeUndefined();
        });

        test('a refused attempt uses its nonce up too', async () => {
          await nonce('finance', '0000000003');
          expect(await store.register('finance', { vmId: 'id-unknown', nonce: '0000000003' }, T0 + 1, testCredential())).toMatchObject({ refusal: 'vm_not_created' });
          await store.bindVms('finance', [{ name: 'vm-a', vmId: 'id-unknown' }], 'img', CAPS, T0);
          expect(await store.register('finance', { vmId: 'id-unknown', nonce: '0000000003' }, T0 + 2, testCredential())).toMatchObject({ refusal: 'nonce_invalid' });
        });

        test("another group's vmId is refused as vm_of_another_group", async () => {
          await store.bindVms('sales', [{ name: 'vm-s', vmId: 'id-s' }], 'img', CAPS, T0);
          await nonce('finance', '0000000004');
          expect(await store.register('finance', { vmId: 'id-s', nonce: '0000000004' }, T0 + 1, testCredential())).toMatchObject({ refusal: 'vm_of_another_group' });
        });
      });

      test('a group holds at most `max` unused nonces; void ones are dropped first, and a number in use is not issued twice', async () => {
        expect(await store.issueNonce('finance', '1000000001', T0, T0 + 10, 2)).toEqual({ kind: 'issued' });
        expect(await store.issueNonce('finance', '1000000001', T0, T0 + 10, 2)).toEqual({ kind: 'taken' });
        expect(await store.issueNonce('finance', '1000000002', T0, T0 + 10, 2)).toEqual({ kind: 'issued' });
        expect(await store.issueNonce('finance', '1000000003', T0 + 5, T0 + 20, 2)).toEqual({ kind: 'full', live: 2 });
        expect(await store.issueNonce('sales', '1000000004', T0 + 5, T0 + 20, 2)).toEqual({ kind: 'issued' });
        expect(await store.issueNonce('finance', '1000000003', T0 + 11, T0 + 20, 2)).toEqual({ kind: 'issued' });
      });

      test('a bot whose VM is gone ends, and its run goes back to the queue', async () => {
        await enqueue();
        const bot = await idleBot();
        const run = await claimed(bot.id);
        await store.markDeleted([bot.id], T0 + 10, { finance: 3 });
        expect(await store.getRun(run.id)).toMatchObject({ state: 'queued', attempts: 1 });
        expect(await store.getBot(bot.id)).toMatchObject({ state: 'deleted' });
      });
    });

    describe('groups', () => {
      test('groups missing from the manifest are kept, undeclared, and their queued runs can be cancelled', async () => {
        const { run } = (await enqueue({ group: 'sales' })) as { run: { id: string } };
        await store.syncGroups([{ name: 'finance', vmss: VMSS }], T0);
        expect((await store.groups()).find((g) => g.name === 'sales')).toMatchObject({ declared: false, vmss: VMSS });
        const cancelled = await store.cancelRemovedGroupRuns(['sales'], T0 + 1);
        expect(cancelled.map((r) => r.id)).toEqual([run.id]);
        expect(await store.getRun(run.id)).toMatchObject({ state: 'cancelled', errorCode: 'group_removed' });
      });

      test('provisioning errors are kept per group, newest first', async () => {
        await store.recordProvisioningError({ group: 'finance', at: T0, operation: 'setCapacity', code: 'QuotaExceeded', message: 'quota' });
        await store.recordProvisioningError({ group: 'finance', at: T0 + 1, operation: 'setCapacity', code: 'AllocationFailed', message: 'no room' });
        expect((await store.provisioningErrors('finance', 10)).map((e) => e.code)).toEqual(['AllocationFailed', 'QuotaExceeded']);
        expect(await store.provisioningErrors('sales', 10)).toEqual([]);
      });
    });

    describe('arrival history', () => {
      const S = slotOf(T0);
      const MIN = 60_000;
      const slots = (history: ArrivalHistory | undefined): Array<[number, SlotCounts]> => [...(history?.slots ?? new Map<number, SlotCounts>()).entries()].sort((a, b) => a[0] - b[0]);

      test('each new run counts as an arrival in its group and 10-minute slot', async () => {
        await enqueue({ now: S + 1 });
        await enqueue({ now: S + SLOT_MS - 1 });
        await enqueue({ now: S + SLOT_MS });
        await enqueue({ group: 'sales', now: S + 5 * MIN });
        const history = await store.arrivalHistory(S + SLOT_MS);
        expect(slots(history.finance)).toEqual([
          [S, { arrivals: 2, busySeconds: 0 }],
          [S + SLOT_MS, { arrivals: 1, busySeconds: 0 }],
        ]);
        expect(history.finance.since).toBe(S);
        expect(slots(history.sales)).toEqual([[S, { arrivals: 1, busySeconds: 0 }]]);
      });

      test("arrivals reads one group's slots in [from, to) only", async () => {
        await enqueue({ now: S - SLOT_MS });
        await enqueue({ now: S + 1 });
        await enqueue({ now: S + 2 });
        await enqueue({ now: S + SLOT_MS });
        await enqueue({ group: 'sales', now: S + 1 });
        expect([...(await store.arrivals('finance', S, S + SLOT_MS)).entries()]).toEqual([[S, 2]]);
        expect([...(await store.arrivals('finance', S - SLOT_MS, S + 2 * SLOT_MS)).entries()].sort((a, b) => a[0] - b[0])).toEqual([
          [S - SLOT_MS, 1],
          [S, 2],
          [S + SLOT_MS, 1],
        ]);
        expect((await store.arrivals('nope', S - SLOT_MS, S + 2 * SLOT_MS)).size).toBe(0);
      });

      test('an idempotent replay and a refused run are not arrivals; a run cancelled before it started adds no busy time', async () => {
        const { run } = (await enqueue({ idempotencyKey: 'k1', now: S })) as { run: { id: string } };
        expect((await enqueue({ idempotencyKey: 'k1', now: S + 1 })).kind).toBe('existing');
        expect((await enqueue({ group: 'nope', now: S })).kind).toBe('refused');
        await store.cancel(run.id, S + MIN, LEAD);
        const history = await store.arrivalHistory(S + MIN);
        expect(Object.keys(history)).toEqual(['finance']);
        expect(slots(history.finance)).toEqual([[S, { arrivals: 1, busySeconds: 0 }]]);
      });

      test('a run that ends adds its busy seconds, split over the slots it spanned, once', async () => {
        const start = S + SLOT_MS - 2 * MIN;
        await enqueue({ now: start - MIN });
        const bot = await idleBot();
        const run = await claimed(bot.id, 'finance', start);
        const report = { botId: bot.id, runId: run.id, attempt: 1, status: 'failed' as const, exitCode: 1 };
        expect((await store.complete({ ...report, now: start + 5 * MIN })).kind).toBe('completed');
        expect((await store.complete({ ...report, now: start + 6 * MIN })).kind).toBe('duplicate');
        expect(slots((await store.arrivalHistory(start + 6 * MIN)).finance)).toEqual([
          [S, { arrivals: 1, busySeconds: 120 }],
          [S + SLOT_MS, { arrivals: 0, busySeconds: 180 }],
        ]);
      });

      test('runs the sweep or a lost VM ends add their busy time; a run queued again adds none until it ends', async () => {
        const settings = { name: 'finance', queueTimeoutMs: DAY_MS, heartbeatTimeoutMs: 90_000, idleSilenceMs: DAY_MS, maxAttempts: 2, inactiveMs: 30 * DAY_MS, committedBots: 0 };
        const busy = async (now: number) => slots((await store.arrivalHistory(now)).finance);
        // A times out after 1 minute; B's bot goes silent.
        await enqueue({ now: S, timeoutMinutes: 1 });
        await enqueue({ now: S });
        const a = await idleBot();
        const b = await idleBot();
        const runA = await claimed(a.id, 'finance', S);
        const runB = await claimed(b.id, 'finance', S);
        await store.heartbeat(a.id, runA.id, 1, S + 1.5 * MIN);
        const first = await store.sweep([settings], S + 2 * MIN);
        expect(first.timedOut.map((r) => r.id)).toEqual([runA.id]);
        expect(first.requeued.map((r) => r.id)).toEqual([runB.id]);
        expect(await busy(S + 2 * MIN)).toEqual([[S, { arrivals: 2, busySeconds: 120 }]]);
        // B's second bot goes silent too: B fails for good, and its last attempt counts.
        const c = await idleBot();
        await claimed(c.id, 'finance', S + 3 * MIN);
        const second = await store.sweep([settings], S + 5 * MIN);
        expect(second.failedLost.map((r) => r.id)).toEqual([runB.id]);
        expect(await busy(S + 5 * MIN)).toEqual([[S, { arrivals: 2, busySeconds: 240 }]]);
        // A run whose VM is gone, on its last attempt.
        await enqueue({ now: S + 5 * MIN });
        const d = await idleBot();
        await claimed(d.id, 'finance', S + 6 * MIN);
        await store.markDeleted([d.id], S + 8 * MIN, { finance: 1 });
        expect(await busy(S + 8 * MIN)).toEqual([[S, { arrivals: 3, busySeconds: 360 }]]);
      });

      test('the history holds the last 7 days; since is the earliest slot still kept', async () => {
        const now = S + 8 * DAY_MS + 3 * MIN;
        await enqueue({ now: S + 0.5 * DAY_MS });
        await enqueue({ now: S + DAY_MS });
        await enqueue({ now: S + 7 * DAY_MS + 1 });
        const history = (await store.arrivalHistory(now)).finance;
        expect(slots(history).map(([slot]) => slot)).toEqual([S + DAY_MS, S + 7 * DAY_MS]);
        expect(history.since).toBe(S + 0.5 * DAY_MS);
      });

      test('the sweep deletes the slots older than 8 days', async () => {
        const now = S + 8 * DAY_MS + SLOT_MS + 3 * MIN;
        await enqueue({ group: 'sales', now: S });
        await enqueue({ now: S });
        await enqueue({ now: S + SLOT_MS });
        await enqueue({ now: S + DAY_MS });
        await store.sweep([], now);
        const history = await store.arrivalHistory(now);
        expect(Object.keys(history)).toEqual(['finance']);
        expect(history.finance.since).toBe(S + SLOT_MS);
        await store.sweep([], now + SLOT_MS);
        expect((await store.arrivalHistory(now + SLOT_MS)).finance.since).toBe(S + DAY_MS);
      });
    });

    describe('group samples', () => {
      const S = slotOf(T0);
      const MIN = 60_000;
      const NO_BOTS = { provisioning: 0, idle: 0, busy: 0, deleting: 0, failed: 0 };
      const sample = (queued: number, running: number, bots: Partial<typeof NO_BOTS> = {}, group = 'finance') => ({ group, queued, running, bots: { ...NO_BOTS, ...bots } });

      test('a slot keeps the most of each count it was given', async () => {
        await store.recordGroupSamples([sample(3, 1, { idle: 2, provisioning: 1 })], S + MIN);
        await store.recordGroupSamples([sample(7, 0, { busy: 2 })], S + 5 * MIN);
        await store.recordGroupSamples([sample(2, 4, { failed: 1, deleting: 1 })], S + SLOT_MS - 1);
        expect(await store.groupSamples('finance', S, S + SLOT_MS)).toEqual([
          { slot: S, queued: 7, running: 4, bots: { provisioning: 1, idle: 2, busy: 2, deleting: 1, failed: 1 } },
        ]);
      });

      test('samples in different slots are kept apart, oldest first', async () => {
        await store.recordGroupSamples([sample(5, 0)], S + SLOT_MS);
        await store.recordGroupSamples([sample(2, 0)], S);
        expect((await store.groupSamples('finance', S, S + 2 * SLOT_MS)).map((x) => [x.slot, x.queued])).toEqual([
          [S, 2],
          [S + SLOT_MS, 5],
        ]);
      });

      test('only the asked group and window [from, to) are returned', async () => {
        await store.recordGroupSamples([sample(1, 0), sample(9, 9, {}, 'sales')], S);
        await store.recordGroupSamples([sample(2, 0)], S + SLOT_MS);
        await store.recordGroupSamples([sample(3, 0)], S + 2 * SLOT_MS);
        expect((await store.groupSamples('finance', S + SLOT_MS, S + 2 * SLOT_MS)).map((x) => x.queued)).toEqual([2]);
        expect((await store.groupSamples('sales', S, S + 3 * SLOT_MS)).map((x) => x.queued)).toEqual([9]);
        expect(await store.groupSamples('nobody', S, S + 3 * SLOT_MS)).toEqual([]);
      });

      test('a group given twice in one call keeps the larger of each count', async () => {
        await store.recordGroupSamples([sample(4, 0, { idle: 1 }), sample(1, 2, { idle: 3 })], S);
        expect(await store.groupSamples('finance', S, S + SLOT_MS)).toEqual([{ slot: S, queued: 4, running: 2, bots: { ...NO_BOTS, idle: 3 } }]);
      });

      test('a negative count is refused, naming the group and the count', async () => {
        await expect(store.recordGroupSamples([sample(-1, 0)], S)).rejects.toThrow('group sample of finance: queued is -1; it must be a whole number of at least 0');
      });

      test('the sweep forgets the samples older than 8 days, as it does the arrival history', async () => {
        const now = S + 8 * DAY_MS + SLOT_MS + 3 * MIN;
        await store.recordGroupSamples([sample(1, 0)], S);
        await store.recordGroupSamples([sample(2, 0)], S + SLOT_MS);
        await store.recordGroupSamples([sample(3, 0)], S + DAY_MS);
        await store.sweep([], now);
        expect((await store.groupSamples('finance', 0, now)).map((x) => x.slot)).toEqual([S + SLOT_MS, S + DAY_MS]);
      });
    });

    describe('warm-up accounts', () => {
      test('none until saved; saved ones read back by group, and a save replaces what a group had', async () => {
        expect(await store.warmUpAccounts()).toEqual({});
        await store.saveWarmUpAccounts({ finance: '{"mode":"warming"}', sales: '{"mode":"paused"}' }, T0);
        await store.saveWarmUpAccounts({ finance: '{"mode":"paused"}' }, T0 + 1);
        expect(await store.warmUpAccounts()).toEqual({ finance: '{"mode":"paused"}', sales: '{"mode":"paused"}' });
        await store.saveWarmUpAccounts({}, T0 + 2);
        expect(Object.keys(await store.warmUpAccounts()).sort()).toEqual(['finance', 'sales']);
      });
    });

    describe('published group views', () => {
      test('none until published; a publish replaces what a group had, with the time it was published', async () => {
        expect(await store.publishedGroupView('finance')).toBeUndefined();
        await store.publishGroupViews({ finance: '{"v":1}', sales: '{"v":1}' }, T0);
        await store.publishGroupViews({ finance: '{"v":2}' }, T0 + 5_000);
        expect(await store.publishedGroupView('finance')).toEqual({ view: '{"v":2}', publishedAt: T0 + 5_000 });
        expect(await store.publishedGroupView('sales')).toEqual({ view: '{"v":1}', publishedAt: T0 });
      });

      test('a group removed from the manifest loses its published view', async () => {
        await store.publishGroupViews({ finance: '{"v":1}', sales: '{"v":1}' }, T0);
        await store.syncGroups([{ name: 'finance', vmss: VMSS }], T0 + 1);
        expect(await store.publishedGroupView('sales')).toBeUndefined();
        expect(await store.publishedGroupView('finance')).toEqual({ view: '{"v":1}', publishedAt: T0 });
      });

      test('a view of a group that is not declared is not kept, so the views never outnumber the groups', async () => {
        await store.syncGroups([{ name: 'finance', vmss: VMSS }], T0);
        await store.publishGroupViews({ finance: '{"v":1}', sales: '{"v":1}', nowhere: '{"v":1}' }, T0);
        expect(await store.publishedGroupView('sales')).toBeUndefined();
        expect(await store.publishedGroupView('nowhere')).toBeUndefined();
        expect(await store.publishedGroupView('finance')).toEqual({ view: '{"v":1}', publishedAt: T0 });
      });
    });

    describe('per-user queue limit', () => {
      test('a user at the limit is refused, with the count; another user and another group are not', async () => {
        for (let i = 0; i < 3; i++) expect((await enqueue({ maxQueuedPerUser: 3, now: T0 + i })).kind).toBe('created');
        expect(await enqueue({ maxQueuedPerUser: 3 })).toEqual({ kind: 'refused', reason: 'user_queue_full', queued: 3 });
        expect((await enqueue({ maxQueuedPerUser: 3, createdBy: 'bo' })).kind).toBe('created');
        expect((await enqueue({ maxQueuedPerUser: 3, group: 'sales' })).kind).toBe('created');
        expect((await store.queue('finance')).filter((r) => r.createdBy === 'ana')).toHaveLength(3);
      });

      test('a run that starts frees its place; a replayed idempotency key is answered even at the limit', async () => {
        const first = await enqueue({ maxQueuedPerUser: 1, idempotencyKey: 'k1' });
        expect((await enqueue({ maxQueuedPerUser: 1, idempotencyKey: 'k1' })).kind).toBe('existing');
        expect((await enqueue({ maxQueuedPerUser: 1 })).kind).toBe('refused');
        const bot = await idleBot();
        expect((await claimed(bot.id)).id).toBe((first as { run: { id: string } }).run.id);
        expect((await enqueue({ maxQueuedPerUser: 1 })).kind).toBe('created');
      });
    });

    describe('retention', () => {
      const DAY = 24 * 3_600_000;

      async function finished(createdBy: string, endedAt: number, key?: string) {
        const { run } = (await enqueue({ createdBy, now: endedAt - 1000, idempotencyKey: key })) as { run: { id: string } };
        const bot = await idleBot();
        await claimed(bot.id, 'finance', endedAt - 500);
        await store.complete({ botId: bot.id, runId: run.id, attempt: 1, status: 'succeeded', exitCode: 0, output: 'out', now: endedAt });
        return run.id;
      }

      test('deletes the finished runs that ended before the cutoff, and nothing queued, running or newer', async () => {
        const old = await finished('ana', T0);
        const recent = await finished('ana', T0 + 20 * DAY);
        const { run: queued } = (await enqueue({ now: T0 })) as { run: { id: string } };
        const { run: running } = (await enqueue({ now: T0 + 1 })) as { run: { id: string } };
        await claimed((await idleBot()).id, 'finance', T0 + 2);
        const result = await store.forget({ runsFinishedBefore: T0 + 10 * DAY, idempotencyKeysBefore: 0, auditRecordsBefore: 0, limit: 100 });
        expect(result).toEqual({ runs: 1, keys: 0, audit: 0 });
        expect(await store.getRun(old)).toBeUndefined();
        for (const id of [recent, queued.id, running.id]) expect((await store.getRun(id))?.id).toBe(id);
      });

      test('deletes at most the limit in one pass, oldest first', async () => {
        const ids = [];
        for (let i = 0; i < 3; i++) ids.push(await finished('ana', T0 + i * 1000));
        expect((await store.forget({ runsFinishedBefore: T0 + DAY, idempotencyKeysBefore: 0, auditRecordsBefore: 0, limit: 2 })).runs).toBe(2);
        expect(await store.getRun(ids[0])).toBeUndefined();
        expect(await store.getRun(ids[1])).toBeUndefined();
        expect((await store.getRun(ids[2]))?.id).toBe(ids[2]);
      });

      test('drops idempotency keys after their time, so a retry then makes a new run', async () => {
        const first = (await enqueue({ idempotencyKey: 'k', now: T0 })) as { run: { id: string } };
        expect((await store.forget({ runsFinishedBefore: 0, idempotencyKeysBefore: T0 + 1, auditRecordsBefore: 0, limit: 100 })).keys).toBe(1);
        const retry = await enqueue({ idempotencyKey: 'k', now: T0 + 2 });
        expect(retry.kind).toBe('created');
        expect((retry as { run: { id: string } }).run.id).not.toBe(first.run.id);
      });

      test('leaves the arrival history untouched', async () => {
        await finished('ana', T0);
        const before = await store.arrivalHistory(T0 + DAY);
        await store.forget({ runsFinishedBefore: T0 + DAY, idempotencyKeysBefore: T0 + DAY, auditRecordsBefore: T0 + DAY, limit: 100 });
        expect(await store.arrivalHistory(T0 + DAY)).toEqual(before);
      });
    });

    describe('lists', () => {
      test('the history filters by who started the runs, and lists carry no run data', async () => {
        await enqueue({ createdBy: 'ana' });
        await enqueue({ createdBy: 'bo', inputs: { secret: 's' } });
        const mine = await store.runs({ group: 'finance', limit: 10, createdBy: 'bo' });
        expect(mine.map((r) => r.createdBy)).toEqual(['bo']);
        expect(mine[0]).not.toHaveProperty('inputs');
        expect(mine[0]).not.toHaveProperty('output');
        expect((await store.queue('finance'))[0]).not.toHaveProperty('inputs');
      });

      describe('history pages', () => {
        /** 30 runs, newest last: ana's and bo's in turn, every third cancelled; and a run of sales. */
        async function history() {
          const runs: { id: string; createdBy: string; state: string }[] = [];
          for (let i = 0; i < 30; i++) {
            const createdBy = i % 2 ? 'bo' : 'ana';
            const { run } = (await enqueue({ createdBy, now: T0 + i })) as { run: { id: string } };
            let state = 'queued';
            if (i % 3 === 0) {
              await store.cancel(run.id, T0 + i, LEAD);
              state = 'cancelled';
            }
            runs.push({ id: run.id, createdBy, state });
          }
          await enqueue({ group: 'sales' });
          return runs.reverse();
        }

        /** Every page of a query, following `next` to the end. */
        async function allPages(query: Omit<Parameters<Store['runHistory']>[0], 'group' | 'before'>) {
          const pages: { ids: string[]; scanned: number; next?: string }[] = [];
          let before: string | undefined;
          do {
            const page = await store.runHistory({ group: 'finance', ...query, before });
            pages.push({ ids: page.runs.map((r) => r.id), scanned: page.scanned, next: page.next });
            before = page.next;
          } while (before && pages.length < 100);
          return pages;
        }

        test.each([
          ['all of the group', {}, () => true],
          ["one creator's", { createdBy: 'bo' }, (r: { createdBy: string }) => r.createdBy === 'bo'],
          ['one state', { states: ['cancelled'] as const }, (r: { state: string }) => r.state === 'cancelled'],
          ['two states', { states: ['cancelled', 'expired'] as const }, (r: { state: string }) => r.state === 'cancelled'],
          ["one creator's in one state", { createdBy: 'ana', states: ['queued'] as const }, (r: { createdBy: string; state: string }) => r.createdBy === 'ana' && r.state === 'queued'],
        ])('%s: pages newest first hold every run once, each page reading at most its scan', async (_name, filter, matches) => {
          const runs = await history();
          const pages = await allPages({ limit: 4, scan: 6, ...filter });
          expect(pages.flatMap((p) => p.ids)).toEqual(runs.filter(matches as (r: (typeof runs)[number]) => boolean).map((r) => r.id));
          for (const page of pages) {
            expect(page.ids.length).toBeLessThanOrEqual(4);
            expect(page.scanned).toBeLessThanOrEqual(6);
          }
          expect(pages[pages.length - 1].next).toBeUndefined();
        });

        test('a page whose scan runs out before it fills answers the runs it found and where to go on', async () => {
          const runs = await history();
          // Newest first: the first six runs hold two cancelled ones (positions 27 and 24).
          const page = await store.runHistory({ group: 'finance', states: ['cancelled', 'expired'], limit: 4, scan: 6 });
          expect(page.runs.map((r) => r.id)).toEqual(runs.slice(0, 6).filter((r) => r.state === 'cancelled').map((r) => r.id));
          expect(page.scanned).toBe(6);
          expect(page.next).toBe(runs[5].id);
        });

        test('a full page reads no further than its last run', async () => {
          await history();
          const page = await store.runHistory({ group: 'finance', limit: 4, scan: 2000 });
          expect(page.runs).toHaveLength(4);
          expect(page.scanned).toBe(4);
          expect(page.next).toBe(page.runs[3].id);
        });

        test('a creator with no runs reads nothing', async () => {
          await history();
          expect(await store.runHistory({ group: 'finance', createdBy: 'nobody', limit: 50, scan: 2000 })).toEqual({ runs: [], scanned: 0 });
        });
      });

      test('the queue pages by offset in claim order', async () => {
        const ids = [];
        for (let i = 0; i < 5; i++) ids.push(((await enqueue({ now: T0 + i })) as { run: { id: string } }).run.id);
        expect((await store.queue('finance', 2, 2)).map((r) => r.id)).toEqual(ids.slice(2, 4));
        expect((await store.queue('finance', -1, 4)).map((r) => r.id)).toEqual(ids.slice(4));
      });
    });

    describe('webhooks', () => {
      const subscription = (overrides: Partial<NewSubscription> = {}): NewSubscription => ({
        id: `wh_${Math.random().toString(16).slice(2, 14).padEnd(24, '0')}`,
        group: 'finance',
        url: 'https://hooks.example.com/in',
        events: ['run.succeeded', 'run.failed'],
        format: 'json',
        secret: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==',
        source: 'api',
        createdBy: 'lead',
        createdAt: T0,
        ...overrides,
      });
      let seq = 0;
      const delivery = (subscriptionId: string, overrides: Partial<NewDelivery> = {}): NewDelivery => ({
        id: `msg_${String(++seq).padStart(24, '0')}`,
        subscriptionId,
        group: 'finance',
        eventType: 'run.succeeded',
        eventKey: `run.succeeded:run_${seq}`,
        body: '{"type":"run.succeeded"}',
        createdAt: T0,
        ...overrides,
      });

      test('a subscription is kept with its secret and reads back healthy', async () => {
        const s = subscription({ waitAboveMinutes: 15, events: ['queue.wait_exceeded'] });
        await store.webhooks.createSubscription(s);
        expect(await store.webhooks.subscriptions('finance')).toEqual([{ ...s, waitAlerted: false, health: { failing: 0 } }]);
        expect(await store.webhooks.subscriptions('sales')).toEqual([]);
      });

      test('one event queued twice for one subscription is one delivery; a gone subscription gets none', async () => {
        const s = subscription();
        await store.webhooks.createSubscription(s);
        expect(await store.webhooks.enqueueDeliveries([delivery(s.id, { eventKey: 'k' }), delivery(s.id, { eventKey: 'k' }), delivery('wh_gone', { eventKey: 'k' })])).toBe(1);
        expect(await store.webhooks.enqueueDeliveries([delivery(s.id, { eventKey: 'k' })])).toBe(0);
        expect(await store.webhooks.deliveries({ group: 'finance', limit: 10 })).toHaveLength(1);
      });

      test('queued events are found by subscription and event key', async () => {
        const s = subscription();
        await store.webhooks.createSubscription(s);
        await store.webhooks.enqueueDeliveries([delivery(s.id, { eventKey: 'run.failed:run_a' })]);
        expect(await store.webhooks.queuedEvents([s.id, 'wh_other'], ['run.failed:run_a', 'run.failed:run_b'])).toEqual(new Set([`${s.id} run.failed:run_a`]));
        expect(await store.webhooks.queuedEvents([], ['run.failed:run_a'])).toEqual(new Set());
      });

      test('a claimed delivery is leased: no second claim gets it until the lease runs out, and the attempt is counted', async () => {
        const s = subscription();
        await store.webhooks.createSubscription(s);
        const d = delivery(s.id);
        await store.webhooks.enqueueDeliveries([d]);
        const [first] = await store.webhooks.claimDeliveries('a', T0, 1000, 10);
        expect(first).toMatchObject({ id: d.id, attempts: 1, state: 'pending', body: d.body, lastAttemptAt: T0 });
        expect(await store.webhooks.claimDeliveries('b', T0 + 1000, 1000, 10)).toEqual([]);
        expect((await store.webhooks.claimDeliveries('b', T0 + 1001, 1000, 10)).map((x) => [x.id, x.attempts])).toEqual([[d.id, 2]]);
      });

      test('a delivery is not due before its next attempt', async () => {
        const s = subscription();
        await store.webhooks.createSubscription(s);
        await store.webhooks.enqueueDeliveries([delivery(s.id, { createdAt: T0 + 500 })]);
        expect(await store.webhooks.claimDeliveries('a', T0, 1000, 10)).toEqual([]);
        expect(await store.webhooks.claimDeliveries('a', T0 + 500, 1000, 10)).toHaveLength(1);
      });

      test('a retry reschedules the delivery and counts in its health; a success ends it', async () => {
        const s = subscription();
        await store.webhooks.createSubscription(s);
        const d = delivery(s.id);
        await store.webhooks.enqueueDeliveries([d]);
        await store.webhooks.claimDeliveries('a', T0, 1000, 10);
        expect(await store.webhooks.finishDelivery(d.id, 'a', { kind: 'retry', now: T0 + 10, at: T0 + 5000, error: 'answered 503' })).toBe(true);
        expect((await store.webhooks.subscriptions('finance'))[0].health).toEqual({ lastFailureAt: T0 + 10, failing: 1 });
        expect(await store.webhooks.claimDeliveries('a', T0 + 4999, 1000, 10)).toEqual([]);
        await store.webhooks.claimDeliveries('a', T0 + 5000, 1000, 10);
        expect(await store.webhooks.finishDelivery(d.id, 'a', { kind: 'delivered', now: T0 + 5010 })).toBe(true);
        expect((await store.webhooks.subscriptions('finance'))[0].health).toEqual({ lastSuccessAt: T0 + 5010, lastFailureAt: T0 + 10, failing: 0 });
        expect(await store.webhooks.claimDeliveries('a', T0 + 99_999, 1000, 10)).toEqual([]);
      });

      test('only the lease holder reschedules or gives up; a success counts whoever reports it', async () => {
        const s = subscription();
        await store.webhooks.createSubscription(s);
        const d = delivery(s.id);
        await store.webhooks.enqueueDeliveries([d]);
        await store.webhooks.claimDeliveries('a', T0, 1000, 10);
        expect(await store.webhooks.finishDelivery(d.id, 'b', { kind: 'retry', now: T0, at: T0 + 1, error: 'x' })).toBe(false);
        expect(await store.webhooks.finishDelivery(d.id, 'b', { kind: 'failed', now: T0, error: 'x' })).toBe(false);
        expect(await store.webhooks.finishDelivery(d.id, 'b', { kind: 'delivered', now: T0 })).toBe(true);
        expect(await store.webhooks.finishDelivery(d.id, 'a', { kind: 'delivered', now: T0 })).toBe(false);
      });

      test('a given-up delivery is kept as failed, listed as failing, until retention forgets it', async () => {
        const s = subscription();
        await store.webhooks.createSubscription(s);
        const d = delivery(s.id);
        await store.webhooks.enqueueDeliveries([d]);
        await store.webhooks.claimDeliveries('a', T0, 1000, 10);
        await store.webhooks.finishDelivery(d.id, 'a', { kind: 'failed', now: T0 + 100, error: 'answered 410' });
        expect(await store.webhooks.deliveries({ group: 'finance', failing: true, limit: 10 })).toEqual([
          expect.objectContaining({ id: d.id, state: 'failed', lastError: 'answered 410', finishedAt: T0 + 100, lastFailureAt: T0 + 100 }),
        ]);
        expect(await store.webhooks.forgetDeliveries(T0 + 100, 10)).toBe(0);
        expect(await store.webhooks.forgetDeliveries(T0 + 101, 10)).toBe(1);
        expect(await store.webhooks.deliveries({ group: 'finance', limit: 10 })).toEqual([]);
      });

      test("a person's create and delete leave their audit records, in the group's trail", async () => {
        const s = subscription();
        await store.webhooks.createSubscription(s, LEAD);
        await store.webhooks.deleteSubscription('finance', s.id, LEAD, T0 + 1);
        expect((await store.auditRecords({ group: 'finance', limit: 10 })).map((r) => [r.action, r.actor, r.at, r.before.id, r.after.id])).toEqual([
          ['webhook-delete', 'lead', T0 + 1, s.id, null],
          ['webhook-create', 'lead', T0, null, s.id],
        ]);
      });

      test('deleting a subscription deletes its deliveries; another group cannot delete it', async () => {
        const s = subscription();
        await store.webhooks.createSubscription(s);
        await store.webhooks.enqueueDeliveries([delivery(s.id)]);
        expect(await store.webhooks.deleteSubscription('sales', s.id)).toBe(false);
        expect(await store.webhooks.deleteSubscription('finance', s.id)).toBe(true);
        expect(await store.webhooks.subscriptions()).toEqual([]);
        expect(await store.webhooks.claimDeliveries('a', T0, 1000, 10)).toEqual([]);
      });

      test('a wait episode opens once, queuing its alert with it, and opens again only after it closed', async () => {
        const s = subscription({ events: ['queue.wait_exceeded'], waitAboveMinutes: 10 });
        await store.webhooks.createSubscription(s);
        expect(await store.webhooks.openWaitEpisode(s.id, delivery(s.id, { eventKey: 'wait:1' }))).toBe(true);
        expect(await store.webhooks.openWaitEpisode(s.id, delivery(s.id, { eventKey: 'wait:2' }))).toBe(false);
        expect((await store.webhooks.subscriptions())[0].waitAlerted).toBe(true);
        expect(await store.webhooks.closeWaitEpisode(s.id)).toBe(true);
        expect(await store.webhooks.closeWaitEpisode(s.id)).toBe(false);
        expect(await store.webhooks.openWaitEpisode(s.id, delivery(s.id, { eventKey: 'wait:3' }))).toBe(true);
        expect((await store.webhooks.deliveries({ group: 'finance', limit: 10 })).map((d) => d.eventKey).sort()).toEqual(['wait:1', 'wait:3']);
      });

      test('syncing declared subscriptions adds, updates and removes manifest ones only', async () => {
        const api = subscription({ id: 'wh_000000000000000000000001' });
        const kept = subscription({ id: 'whm_00000000000000000000001', source: 'manifest', createdBy: 'manifest' });
        const dropped = subscription({ id: 'whm_00000000000000000000002', source: 'manifest', createdBy: 'manifest' });
        await store.webhooks.createSubscription(api);
        await store.webhooks.syncDeclaredSubscriptions([kept, dropped]);
        await store.webhooks.syncDeclaredSubscriptions([{ ...kept, events: ['run.failed'], format: 'teams' }]);
        expect((await store.webhooks.subscriptions()).map((x) => [x.id, x.events, x.format])).toEqual([
          [api.id, api.events, 'json'],
          [kept.id, ['run.failed'], 'teams'],
        ]);
      });

      describe('declared secrets', () => {
        const OLD = 'whsec_b2xkLW9sZC1vbGQtb2xkLW9sZC1vbGQtb2xkLW9sZC1vbGQ=';
        const NEW = 'whsec_bmV3LW5ldy1uZXctbmV3LW5ldy1uZXctbmV3LW5ldy1uZXc=';
        const declared = (overrides: Partial<NewSubscription> = {}) =>
          subscription({ id: 'whm_00000000000000000000001', source: 'manifest', createdBy: 'manifest', secret: OLD, ...overrides });
        const secretsOf = async (id: string) => {
          const s = (await store.webhooks.subscriptions()).find((x) => x.id === id)!;
          return { secret: s.secret, previousSecret: s.previousSecret, secretReplacedAt: s.secretReplacedAt };
        };

        test('a declared subscription whose secret never changed has no previous secret', async () => {
          await store.webhooks.syncDeclaredSubscriptions([declared()], T0);
          await store.webhooks.syncDeclaredSubscriptions([declared()], T0 + 1);
          expect(await secretsOf(declared().id)).toEqual({ secret: OLD, previousSecret: undefined, secretReplacedAt: undefined });
        });

        test('a sync with a new secret keeps the replaced one and when it was replaced', async () => {
          await store.webhooks.syncDeclaredSubscriptions([declared()], T0);
          await store.webhooks.syncDeclaredSubscriptions([declared({ secret: NEW })], T0 + 5);
          expect(await secretsOf(declared().id)).toEqual({ secret: NEW, previousSecret: OLD, secretReplacedAt: T0 + 5 });
        });

        test('a rotation stores the new secret, keeps the replaced one with its time, and returns the IDs it changed', async () => {
          await store.webhooks.syncDeclaredSubscriptions([declared()], T0);
          expect(await store.webhooks.rotateDeclaredSecrets([{ id: declared().id, secret: NEW }], T0 + 7)).toEqual([declared().id]);
          expect(await secretsOf(declared().id)).toEqual({ secret: NEW, previousSecret: OLD, secretReplacedAt: T0 + 7 });
        });

        test('the same secret again changes nothing: a later replica does not overwrite the rotation', async () => {
          await store.webhooks.syncDeclaredSubscriptions([declared()], T0);
          await store.webhooks.rotateDeclaredSecrets([{ id: declared().id, secret: NEW }], T0 + 7);
          expect(await store.webhooks.rotateDeclaredSecrets([{ id: declared().id, secret: NEW }], T0 + 60_007)).toEqual([]);
          await store.webhooks.syncDeclaredSubscriptions([declared({ secret: NEW })], T0 + 90_000);
          expect(await secretsOf(declared().id)).toEqual({ secret: NEW, previousSecret: OLD, secretReplacedAt: T0 + 7 });
        });

        test('a rotation leaves subscriptions made through the API, and unknown IDs, alone', async () => {
          const api = subscription({ id: 'wh_000000000000000000000001', secret: OLD });
          await store.webhooks.createSubscription(api);
          expect(await store.webhooks.rotateDeclaredSecrets([{ id: api.id, secret: NEW }, { id: 'whm_unknown', secret: NEW }], T0)).toEqual([]);
          expect(await secretsOf(api.id)).toEqual({ secret: OLD, previousSecret: undefined, secretReplacedAt: undefined });
        });

        test('two replicas rotating to the same new secret at once rotate it once, from the old secret', async () => {
          if (!env.reopen) return;
          await store.webhooks.syncDeclaredSubscriptions([declared()], T0);
          const other = await env.reopen();
          try {
            const [mine, theirs] = await Promise.all([
              store.webhooks.rotateDeclaredSecrets([{ id: declared().id, secret: NEW }], T0 + 1),
              other.webhooks.rotateDeclaredSecrets([{ id: declared().id, secret: NEW }], T0 + 2),
            ]);
            expect([...mine, ...theirs]).toEqual([declared().id]);
            expect(await secretsOf(declared().id)).toEqual({ secret: NEW, previousSecret: OLD, secretReplacedAt: mine.length > 0 ? T0 + 1 : T0 + 2 });
          } finally {
            await other.close();
          }
        });

        test('two replicas starting at once with the same new secret keep the old one as the previous secret', async () => {
          if (!env.reopen) return;
          await store.webhooks.syncDeclaredSubscriptions([declared()], T0);
          const other = await env.reopen();
          try {
            await Promise.all([
              store.webhooks.syncDeclaredSubscriptions([declared({ secret: NEW })], T0 + 1),
              other.webhooks.syncDeclaredSubscriptions([declared({ secret: NEW })], T0 + 2),
            ]);
            expect(await secretsOf(declared().id)).toMatchObject({ secret: NEW, previousSecret: OLD });
          } finally {
            await other.close();
          }
        });

        test('a store from before previous secrets were kept gains them on reopening; its subscriptions have none, and rotate', async () => {
          if (!env.reopen) return;
          await store.webhooks.syncDeclaredSubscriptions([declared()], T0);
          await store.close();
          // The schema as migration 12 left it.
          await env.sql(`ALTER TABLE webhook_subscriptions DROP COLUMN previous_secret; ALTER TABLE webhook_subscriptions DROP COLUMN secret_replaced_at; DELETE FROM schema_migrations WHERE version = 13;`);
          store = await env.reopen();
          expect(await secretsOf(declared().id)).toEqual({ secret: OLD, previousSecret: undefined, secretReplacedAt: undefined });
          await store.webhooks.rotateDeclaredSecrets([{ id: declared().id, secret: NEW }], T0 + 1);
          expect(await secretsOf(declared().id)).toEqual({ secret: NEW, previousSecret: OLD, secretReplacedAt: T0 + 1 });
        });
      });

      describe('secrets rotated through the API', () => {
        const OLD = 'whsec_b2xkLW9sZC1vbGQtb2xkLW9sZC1vbGQtb2xkLW9sZC1vbGQ=';
        const NEW = 'whsec_bmV3LW5ldy1uZXctbmV3LW5ldy1uZXctbmV3LW5ldy1uZXc=';
        const NEWER = 'whsec_bmV3ZXItbmV3ZXItbmV3ZXItbmV3ZXItbmV3ZXItbmV3ZXI=';
        const secretsOf = async (id: string) => {
          const s = (await store.webhooks.subscriptions()).find((x) => x.id === id)!;
          return { secret: s.secret, previousSecret: s.previousSecret, secretReplacedAt: s.secretReplacedAt };
        };

        test('a rotation stores the new secret, keeps the replaced one with its time, and returns the subscription as rotated', async () => {
          const s = subscription({ secret: OLD });
          await store.webhooks.createSubscription(s);
          const rotated = await store.webhooks.rotateSubscriptionSecret('finance', s.id, { secret: NEW, revokePrevious: false, now: T0 + 5 });
          expect(rotated).toMatchObject({ id: s.id, secret: NEW, previousSecret: OLD, secretReplacedAt: T0 + 5 });
          expect(await secretsOf(s.id)).toEqual({ secret: NEW, previousSecret: OLD, secretReplacedAt: T0 + 5 });
        });

        test('a rotation that revokes the previous secret keeps none, and records when the secret was replaced', async () => {
          const s = subscription({ secret: OLD });
          await store.webhooks.createSubscription(s);
          await store.webhooks.rotateSubscriptionSecret('finance', s.id, { secret: NEW, revokePrevious: true, now: T0 + 5 });
          expect(await secretsOf(s.id)).toEqual({ secret: NEW, previousSecret: undefined, secretReplacedAt: T0 + 5 });
        });

        test('a second rotation within the grace period keeps only the secret it replaced; the first one is dropped', async () => {
          const s = subscription({ secret: OLD });
          await store.webhooks.createSubscription(s);
          await store.webhooks.rotateSubscriptionSecret('finance', s.id, { secret: NEW, revokePrevious: false, now: T0 + 5 });
          await store.webhooks.rotateSubscriptionSecret('finance', s.id, { secret: NEWER, revokePrevious: false, now: T0 + 60_000 });
          expect(await secretsOf(s.id)).toEqual({ secret: NEWER, previousSecret: NEW, secretReplacedAt: T0 + 60_000 });
        });

        test('a declared subscription, and one of another group, are not rotated', async () => {
          const s = subscription({ secret: OLD });
          const declared = subscription({ id: 'whm_00000000000000000000001', source: 'manifest', createdBy: 'manifest', secret: OLD });
          await store.webhooks.createSubscription(s);
          await store.webhooks.syncDeclaredSubscriptions([declared], T0);
          expect(await store.webhooks.rotateSubscriptionSecret('finance', declared.id, { secret: NEW, revokePrevious: false, now: T0 + 1, actor: LEAD })).toBeUndefined();
          expect(await store.webhooks.rotateSubscriptionSecret('sales', s.id, { secret: NEW, revokePrevious: false, now: T0 + 1, actor: LEAD })).toBeUndefined();
          expect(await secretsOf(declared.id)).toEqual({ secret: OLD, previousSecret: undefined, secretReplacedAt: undefined });
          expect(await secretsOf(s.id)).toEqual({ secret: OLD, previousSecret: undefined, secretReplacedAt: undefined });
          expect(await store.auditRecords({ group: 'finance', limit: 10 })).toEqual([]);
        });

        test("a person's rotation leaves its audit record, naming the secrets by their fingerprints only", async () => {
          const s = subscription({ secret: OLD });
          await store.webhooks.createSubscription(s);
          await store.webhooks.rotateSubscriptionSecret('finance', s.id, { secret: NEW, revokePrevious: false, now: T0 + 5, actor: LEAD });
          await store.webhooks.rotateSubscriptionSecret('finance', s.id, { secret: NEWER, revokePrevious: true, now: T0 + 6, actor: LEAD });
          const records = await store.auditRecords({ group: 'finance', limit: 10 });
          expect(records.map((r) => [r.action, r.actor, r.at, r.before, r.after])).toEqual([
            [
              'webhook-rotate-secret', 'lead', T0 + 6,
              { id: s.id, url: s.url, secret: secretFingerprint(NEW), previousSecret: secretFingerprint(OLD), secretReplacedAt: T0 + 5 },
              { id: s.id, url: s.url, secret: secretFingerprint(NEWER), previousSecret: null, secretReplacedAt: T0 + 6 },
            ],
            [
              'webhook-rotate-secret', 'lead', T0 + 5,
              { id: s.id, url: s.url, secret: secretFingerprint(OLD), previousSecret: null, secretReplacedAt: null },
              { id: s.id, url: s.url, secret: secretFingerprint(NEW), previousSecret: secretFingerprint(OLD), secretReplacedAt: T0 + 5 },
            ],
          ]);
          expect(JSON.stringify(records)).not.toContain('whsec_');
        });

        test('two replicas rotating at once take turns: the later keeps the earlier one\'s new secret as its previous one', async () => {
          if (!env.reopen) return;
          const s = subscription({ secret: OLD });
          await store.webhooks.createSubscription(s);
          const other = await env.reopen();
          try {
            await Promise.all([
              store.webhooks.rotateSubscriptionSecret('finance', s.id, { secret: NEW, revokePrevious: false, now: T0 + 1 }),
              other.webhooks.rotateSubscriptionSecret('finance', s.id, { secret: NEWER, revokePrevious: false, now: T0 + 2 }),
            ]);
            const after = await secretsOf(s.id);
            expect([[NEW, NEWER], [NEWER, NEW]]).toContainEqual([after.secret, after.previousSecret]);
          } finally {
            await other.close();
          }
        });
      });
    });

    describe('lease', () => {
      test('one holder at a time, until the lease expires', async () => {
        expect(await store.acquireLease('scaler', 'a', 1000, T0)).toBe(true);
        expect(await store.acquireLease('scaler', 'b', 1000, T0 + 500)).toBe(false);
        expect(await store.acquireLease('scaler', 'a', 1000, T0 + 900)).toBe(true);
        expect(await store.acquireLease('scaler', 'b', 1000, T0 + 1901)).toBe(true);
        expect(await store.leaseHolder('scaler', T0 + 1901)).toBe('b');
      });

      test('a released lease can be taken at once', async () => {
        await store.acquireLease('scaler', 'a', 1000, T0);
        await store.releaseLease('scaler', 'a');
        expect(await store.acquireLease('scaler', 'b', 1000, T0 + 1)).toBe(true);
      });
    });
  });
}
