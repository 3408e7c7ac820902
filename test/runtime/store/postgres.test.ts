/**
 * The Store contract against PostgreSQL, plus what only a shared database can show: several
 * replicas (two PostgresStore instances, two pools) on one schema at the same time.
 *
 * Set BOTS_TEST_PG_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) to run them; each test
 * gets a fresh schema that is dropped afterwards.
 */
import { testCredential } from '../../helpers/credentials';
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import { Client, Pool } from 'pg';
import { PostgresStore } from '../../../runtime/store/postgres';
import { newId } from '../../../runtime/store/ids';
import { MIGRATIONS } from '../../../runtime/store/migrations';
import { redactText } from '../../../runtime/log';
import type { Run } from '../../../runtime/domain/run';
import { storeSuite } from './store-suite';

const url = process.env.BOTS_TEST_PG_URL;
const inCi = process.env.CI === 'true' || process.env.CI === '1';
const HOW_TO_RUN = 'set BOTS_TEST_PG_URL, e.g. BOTS_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/test npx jest test/runtime/store';

if (!url) {
  if (inCi) {
    test('PostgreSQL store tests need BOTS_TEST_PG_URL', () => {
      throw new Error(`BOTS_TEST_PG_URL is not set, and CI must run the PostgreSQL store tests: ${HOW_TO_RUN} (.ci/run sets it)`);
    });
  } else {
    // Straight to stderr: jest does not print console output of a file whose tests are all skipped.
    process.stderr.write(`PostgreSQL store tests were skipped: ${HOW_TO_RUN}\n`);
    test.skip('PostgreSQL store (needs BOTS_TEST_PG_URL)', () => undefined);
  }
} else {
  const unreachable = probe(url);
  if (unreachable) {
    test('PostgreSQL at BOTS_TEST_PG_URL is reachable', () => {
      throw new Error(`PostgreSQL at BOTS_TEST_PG_URL=${redactText(url)} is unreachable or refused the connection: ${unreachable}. Start it, or fix the URL.`);
    });
  } else {
    postgresTests(url);
  }
}

/**
 * Connects once before any test is declared (jest declares tests synchronously, hence the child
 * process), so an unreachable server is one clear failure rather than one per test.
 */
function probe(connectionString: string): string | undefined {
  const script = `
    const { Client } = require(${JSON.stringify(require.resolve('pg'))});
    const client = new Client({ connectionString: process.env.PROBE_URL, connectionTimeoutMillis: 5000 });
    client.connect().then(() => client.end()).then(() => process.exit(0), (err) => { process.stderr.write(err.message); process.exit(1); });`;
  try {
    execFileSync(process.execPath, ['-e', script], { env: { ...process.env, PROBE_URL: connectionString }, stdio: ['ignore', 'ignore', 'pipe'], timeout: 15_000 });
    return undefined;
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    return stderr || (err as Error).message;
  }
}

function postgresTests(connectionString: string): void {
  const T0 = 1_700_000_000_000;
  const VMSS = { subscriptionId: 'sub', resourceGroup: 'rg', name: 'vmss' };
  let admin: Pool;

  beforeAll(async () => {
    admin = new Pool({ connectionString, max: 2, connectionTimeoutMillis: 5000 });
  });

  afterAll(async () => {
    await admin?.end().catch(() => undefined);
  });

  const freshSchema = () => `hb_test_${randomBytes(6).toString('hex')}`;
  const dropSchema = (schema: string) => admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  const open = (schema: string) => PostgresStore.open({ connectionString, schema });

  storeSuite('postgres', async () => {
    const schema = freshSchema();
    return {
      store: await open(schema),
      reopen: () => open(schema),
      sql: async (text: string) => {
        await admin.query(`SET search_path TO ${schema}; ${text}`);
      },
      cleanup: async () => {
        await dropSchema(schema);
      },
    };
  });

  describe('postgres store', () => {
    let schema: string;
    let a: PostgresStore;
    let b: PostgresStore;

    beforeEach(async () => {
      schema = freshSchema();
      // Two replicas opening a new schema at once: the advisory lock lets one migrate.
      [a, b] = await Promise.all([open(schema), open(schema)]);
      await a.syncGroups([{ name: 'finance', vmss: VMSS }, { name: 'sales', vmss: VMSS }], T0);
    });

    afterEach(async () => {
      await Promise.all([a?.close(), b?.close()]);
      await dropSchema(schema);
    });

    const enqueueThrough = (store: PostgresStore, overrides: Partial<Parameters<PostgresStore['enqueue']>[0]> = {}) =>
      store.enqueue({ id: newId('run'), group: 'finance', flow: 'invoice', inputs: {}, priority: 'normal', createdBy: 'ana', timeoutMinutes: 30, now: T0, ...overrides });

    test('replicas starting together on a new schema migrate it once, without errors', async () => {
      const fresh = freshSchema();
      const stores = await Promise.allSettled(Array.from({ length: 4 }, () => open(fresh)));
      try {
        expect(stores.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
        const { rows } = await admin.query(`SELECT version FROM ${fresh}.schema_migrations ORDER BY version`);
        expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      } finally {
        await Promise.all(stores.map((s) => (s.status === 'fulfilled' ? s.value.close() : undefined)));
        await dropSchema(fresh);
      }
    });

    test('two replicas claiming webhook deliveries at once each take different ones, and every one is taken', async () => {
      await a.webhooks.createSubscription({
        id: 'wh_000000000000000000000001', group: 'finance', url: 'https://hooks.example.com/in', events: ['run.succeeded'], format: 'json',
        secret: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==', source: 'api', createdBy: 'lead', createdAt: T0,
      });
      await a.webhooks.enqueueDeliveries(Array.from({ length: 40 }, (_, i) => ({
        id: `msg_${String(i).padStart(24, '0')}`, subscriptionId: 'wh_000000000000000000000001', group: 'finance', eventType: 'run.succeeded' as const,
        eventKey: `k${i}`, body: '{}', createdAt: T0,
      })));
      const claimed = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).webhooks.claimDeliveries(`holder-${i}`, T0, 60_000, 7)));
      const ids = claimed.flat().map((d) => d.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBe(40);
    });

    test('bots on two replicas claim 40 runs concurrently: each run once, one run per bot at a time', async () => {
      for (let i = 0; i < 40; i++) await enqueueThrough(i % 2 ? a : b, { now: T0 + i, priority: i % 3 ? 'normal' : 'high' });
      const bots = [];
      for (let i = 0; i < 8; i++) {
        await (i < 4 ? b : a).bindVms('finance', [{ name: `vm-${i}` }], 'img', { maxBots: 10, capacity: 10 }, T0);
        const result = await (i < 4 ? a : b).register('finance', { vmName: `vm-${i}` }, T0, testCredential());
        bots.push(result.bot!);
      }
      const claims = new Map<string, string>();
      const doubleClaims: string[] = [];
      await Promise.all(
        bots.map(async (bot, i) => {
          for (;;) {
            // The same bot asks through both replicas at once: at most one answer may be a run.
            const answers = await Promise.all([a, b].map((s) => s.claim({ botId: bot.id, group: 'finance', now: T0 + 100, enabled: true })));
            const got = answers.filter((r): r is { kind: 'claimed'; run: Run } => r.kind === 'claimed').map((r) => r.run);
            if (got.length > 1) doubleClaims.push(bot.id);
            if (got.length === 0) {
              if ((await a.queue('finance')).length === 0) return;
              continue;
            }
            const run = got[0];
            if (claims.has(run.id)) doubleClaims.push(run.id);
            claims.set(run.id, bot.id);
            expect(run).toMatchObject({ botId: bot.id, state: 'running', attempts: 1 });
            const running = await b.runs({ group: 'finance', states: ['running'], limit: 100 });
            expect(running.filter((r) => r.botId === bot.id).map((r) => r.id)).toEqual([run.id]);
            const done = await (i % 2 ? a : b).complete({ botId: bot.id, runId: run.id, attempt: 1, status: 'succeeded', exitCode: 0, now: T0 + 200 });
            expect(done.kind).toBe('completed');
          }
        }),
      );
      expect(doubleClaims).toEqual([]);
      expect(claims.size).toBe(40);
      const finished = await a.runs({ group: 'finance', limit: 100 });
      expect(finished).toHaveLength(40);
      expect(finished.every((r) => r.state === 'succeeded' && r.attempts === 1 && claims.get(r.id) === r.botId)).toBe(true);
      const after = await b.bots('finance');
      expect(after.every((bot) => bot.state === 'idle' && bot.currentRunId === undefined)).toBe(true);
      expect(after.reduce((n, bot) => n + bot.runsCompleted, 0)).toBe(40);
    });

    test('concurrent scale-outs on two replicas never go beyond maxBots or the capacity', async () => {
      const caps = { maxBots: 5, capacity: 7 };
      await Promise.all([
        ...Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).createBots('finance', 2, 'img', caps, T0)),
        ...Array.from({ length: 4 }, (_, i) => (i % 2 ? b : a).createBots('sales', 2, 'img', caps, T0)),
        ...Array.from({ length: 4 }, (_, i) => (i % 2 ? a : b).bindVms('finance', [{ name: `vm-r${i}` }], 'img', caps, T0)),
        ...Array.from({ length: 2 }, (_, i) => (i % 2 ? b : a).bindVms('sales', [{ name: `vm-s${i}a` }, { name: `vm-s${i}b` }], 'img', caps, T0)),
      ]);
      const finance = (await a.bots('finance')).length;
      const sales = (await b.bots('sales')).length;
      expect(finance).toBeLessThanOrEqual(caps.maxBots);
      expect(sales).toBeLessThanOrEqual(caps.maxBots);
      // Far more was asked for than fits, so creation stops exactly at the capacity.
      expect(finance + sales).toBe(caps.capacity);
    });

    test('two agents register one VM through both replicas at once: one becomes its bot, the other is refused', async () => {
      await a.bindVms('finance', [{ name: 'vm-x', vmId: 'id-x' }], 'img', { maxBots: 5, capacity: 5 }, T0);
      const byName = await Promise.all([a, b].map((s) => s.register('finance', { vmName: 'vm-x' }, T0, testCredential())));
      expect(byName.map((r) => r.kind).sort()).toEqual(['refused', 'registered']);
      expect(byName.find((r) => r.kind === 'refused')?.refusal).toBe('vm_name_taken');
    });

    test('one nonce presented through both replicas at once is used once', async () => {
      await a.bindVms('finance', [{ name: 'vm-y', vmId: 'id-y' }], 'img', { maxBots: 5, capacity: 5 }, T0);
      expect(await a.issueNonce('finance', '4242424242', T0, T0 + 60_000, 10)).toEqual({ kind: 'issued' });
      const results = await Promise.all([a, b].map((s) => s.register('finance', { vmId: 'id-y', nonce: '4242424242' }, T0 + 1, testCredential())));
      expect(results.map((r) => r.refusal ?? r.kind).sort()).toEqual(['nonce_invalid', 'registered']);
    });

    test('a run enqueued on one replica wakes a queue listener on the other', async () => {
      const woken: string[] = [];
      const unsubscribe = b.onQueueChange((group) => woken.push(group));
      await b.listening();
      await enqueueThrough(a, { group: 'sales' });
      await waitFor(() => woken.includes('sales'));
      unsubscribe();
      expect(woken).toContain('sales');
    });

    test('a lost LISTEN connection reconnects and wakes the listeners again', async () => {
      const woken: string[] = [];
      b.onQueueChange((group) => woken.push(group));
      await b.listening();
      const killer = new Client({ connectionString });
      await killer.connect();
      try {
        const { rows } = await killer.query(`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1`, [`hosted-bots listener (${schema})`]);
        expect(rows).toHaveLength(1);
      } finally {
        await killer.end();
      }
      // The reconnect wakes every group once, for notifications sent while it was down.
      await waitFor(() => woken.includes('finance') && woken.includes('sales'));
      await b.listening();
      woken.length = 0;
      await enqueueThrough(a);
      await waitFor(() => woken.includes('finance'));
    });

    test('one replica holds the lease at a time', async () => {
      const rounds = await Promise.all(
        Array.from({ length: 10 }, (_, i) => Promise.all([a.acquireLease(`scaler-${i}`, 'a', 1000, T0), b.acquireLease(`scaler-${i}`, 'b', 1000, T0)])),
      );
      for (const [i, pair] of rounds.entries()) {
        expect(pair.filter(Boolean)).toHaveLength(1);
        expect(await a.leaseHolder(`scaler-${i}`, T0)).toBe(pair[0] ? 'a' : 'b');
      }
      // Renewal and take-over race too: while the lease is held only its holder renews it.
      const holder = rounds[0][0] ? { mine: a, name: 'a', other: b, otherName: 'b' } : { mine: b, name: 'b', other: a, otherName: 'a' };
      const [renewed, stolen] = await Promise.all([holder.mine.acquireLease('scaler-0', holder.name, 1000, T0 + 500), holder.other.acquireLease('scaler-0', holder.otherName, 1000, T0 + 500)]);
      expect([renewed, stolen]).toEqual([true, false]);
      expect(await holder.other.acquireLease('scaler-0', holder.otherName, 1000, T0 + 1501)).toBe(true);
      expect(await holder.mine.leaseHolder('scaler-0', T0 + 1501)).toBe(holder.otherName);
    });

    test('the same Idempotency-Key enqueued on both replicas at once gives one run', async () => {
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => enqueueThrough(i % 2 ? a : b, { idempotencyKey: 'retry-1' })));
      const ids = new Set(results.map((r) => (r.kind === 'refused' ? 'refused' : r.run.id)));
      expect(ids.size).toBe(1);
      expect(results.filter((r) => r.kind === 'created')).toHaveLength(1);
      expect(await a.queue('finance')).toHaveLength(1);
    });

    test('a transaction chosen as a deadlock victim runs again and succeeds', async () => {
      await enqueueThrough(a);
      await a.bindVms('finance', [{ name: 'vm-d' }], 'img', { maxBots: 5, capacity: 5 }, T0);
      const bot = (await a.register('finance', { vmName: 'vm-d' }, T0, testCredential())).bot!;
      const claim = await a.claim({ botId: bot.id, group: 'finance', now: T0, enabled: true });
      if (claim.kind !== 'claimed') throw new Error(`expected a claim, got ${claim.kind}`);
      const other = new Client({ connectionString });
      await other.connect();
      try {
        // The other session holds the run; complete() locks the bot, then waits for the run...
        await other.query('BEGIN');
        await other.query(`SELECT 1 FROM ${schema}.runs WHERE id = $1 FOR UPDATE`, [claim.run.id]);
        const completing = a.complete({ botId: bot.id, runId: claim.run.id, attempt: 1, status: 'succeeded', now: T0 + 1 });
        await waitForAsync(async () => {
          const { rows } = await admin.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'SELECT * FROM runs WHERE id = $1 FOR UPDATE'`);
          return rows.length > 0;
        });
        await new Promise((resolve) => setTimeout(resolve, 200));
        // ...and now the other session wants the bot: a cycle, which PostgreSQL breaks by failing one side.
        const otherSide = other.query(`SELECT 1 FROM ${schema}.bots WHERE id = $1 FOR UPDATE`, [bot.id]).then(
          () => 'locked',
          (err: { code?: string }) => err.code,
        );
        const outcome = await Promise.race([otherSide, completing.then(() => 'completed first')]);
        await other.query(outcome === '40P01' ? 'ROLLBACK' : 'COMMIT');
        // complete() waited longest, so its deadlock check fires first and it is the one failed.
        expect(outcome).toBe('locked');
        expect(await completing).toMatchObject({ kind: 'completed', run: { state: 'succeeded' } });
      } finally {
        await other.end();
      }
    });

    test('numbers come back as numbers', async () => {
      await enqueueThrough(a, { timeoutMinutes: 1.5 });
      const [run] = await b.queue('finance');
      expect(typeof run.enqueuedAt).toBe('number');
      expect(run.timeoutMinutes).toBe(1.5);
      const counts = [{ group: 'finance', queued: 1, running: 0, oldestQueuedAt: run.queuedAt }];
      expect(typeof run.queuedAt).toBe('number');
      expect(await b.queueCounts()).toEqual(counts);
      expect(await b.queueCounts(5)).toEqual(counts);
    });
  });
}

async function waitFor(condition: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function waitForAsync(condition: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
