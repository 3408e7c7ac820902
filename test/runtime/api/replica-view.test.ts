/**
 * Two runtimes on one PostgreSQL: the one that holds the scaler lease plans, and publishes what
 * the group view reads of its plan; the other answers the group view from what it published, as
 * of when, until the leader has been silent for LEADER_STALE_MS.
 */
import { randomBytes } from 'crypto';
import { Pool } from 'pg';
import { FINANCE_VMSS, oneGroupManifest } from '../../helpers/manifest';
import type { ComputeDriver } from '../../../runtime/azure/compute';
import { parseManifest, sha256Hex } from '../../../runtime/config/manifest';
import { createRuntime, Runtime } from '../../../runtime/server';
import { groupDetailSchema } from '../../../runtime/api/view-schemas';
import { LEADER_STALE_MS, PUBLISH_EVERY_MS } from '../../../runtime/scaler/published-view';
import { PostgresStore } from '../../../runtime/store/postgres';

const PG_URL = process.env.BOTS_TEST_PG_URL;
const describePg = PG_URL ? describe : describe.skip;
if (!PG_URL) {
  if (process.env.CI === 'true') throw new Error('BOTS_TEST_PG_URL is not set: the two-replica group view test needs PostgreSQL (.ci/run sets it)');
  console.warn('two-replica group view test skipped: set BOTS_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/test to run it');
}

const MINUTE = 60_000;
const NOW = Date.UTC(2026, 2, 10, 9, 2);
const ADMIN = 'ops-token';

/** A scale set that never boots a VM: the bots the scaler creates stay provisioning, and runs wait for them. */
const neverBooting = (): ComputeDriver => ({ setCapacity: async () => undefined, deleteInstances: async () => undefined, listInstances: async () => [] });

describePg('two replicas on one PostgreSQL: the group view', () => {
  const schema = `hb_view_${randomBytes(6).toString('hex')}`;
  const stores: PostgresStore[] = [];
  const runtimes: Runtime[] = [];
  const urls: string[] = [];
  let clock = NOW;

  beforeAll(async () => {
    const manifest = parseManifest(oneGroupManifest({ maxBots: 2, scaling: { predictive: false, standbyBots: 0 } }));
    for (const holder of ['replica-a', 'replica-b']) {
      const store = await PostgresStore.open({ connectionString: PG_URL!, schema });
      stores.push(store);
      const runtime = createRuntime({
        manifest,
        store,
        driver: neverBooting(),
        tokens: [{ principal: 'ops', sha256: sha256Hex(ADMIN) }],
        holder,
        tickMs: 60 * MINUTE,
        now: () => clock,
      });
      runtimes.push(runtime);
      urls.push(await runtime.listen(0, '127.0.0.1'));
    }
  });

  afterAll(async () => {
    for (const runtime of runtimes) await runtime.close();
    for (const store of stores) await store.close();
    const admin = new Pool({ connectionString: PG_URL, max: 1 });
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => admin.end());
  });

  const groupView = async (url: string) => {
    const res = await fetch(`${url}/v1/groups/finance`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.status).toBe(200);
    return groupDetailSchema.parse(await res.json()) as Record<string, any>;
  };

  test("the replica that does not lead shows the leader's reasons why runs wait for boots, as of when they were published; once the leader is silent past the bound, none, and says so", async () => {
    const [leader, follower] = runtimes;
    expect(leader.scaler.isLeader).toBe(true);
    expect(follower.scaler.isLeader).toBe(false);

    // Three runs on a group of at most 2 bots that never boot: they wait for the bots provisioning.
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${urls[1]}/v1/groups/finance/runs`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ flow: 'invoice-entry', inputs: {} }) });
      expect(res.status).toBe(202);
    }
    clock = NOW + PUBLISH_EVERY_MS;
    await leader.scaler.cycle();
    await leader.scaler.settle();

    const [led, followed] = [await groupView(urls[0]), await groupView(urls[1])];
    expect(led.waitingBecause).toContain('2 bots provisioning, about 10 minutes');
    expect(followed.waitingBecause).toEqual(led.waitingBecause);
    expect(followed.queue.map((r: { waitingBecause: string }) => r.waitingBecause)).toEqual(led.queue.map((r: { waitingBecause: string }) => r.waitingBecause));
    expect(followed.queue).toHaveLength(3);
    expect(led).toMatchObject({ publishedAt: null, leaderStale: false });
    expect(followed).toMatchObject({ publishedAt: new Date(NOW + PUBLISH_EVERY_MS).toISOString(), leaderStale: false });

    // The leader goes quiet (no cycle publishes) for longer than the bound: the view says so and shows none of it.
    clock = NOW + PUBLISH_EVERY_MS + LEADER_STALE_MS + 1;
    const stale = await groupView(urls[1]);
    expect(stale).toMatchObject({ waitingBecause: [], predictiveWarmUp: null, warmUpAccount: null, scaleIns: [], leaderStale: true, publishedAt: new Date(NOW + PUBLISH_EVERY_MS).toISOString() });
  });
});
