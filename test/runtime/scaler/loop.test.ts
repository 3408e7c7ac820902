/**
 * The scaler loop with predictive warm-up: the arrival history the store recorded on the day
 * before reaches plan(), and bots start ahead of the runs that usually come at this hour.
 */
import { testCredential } from '../../helpers/credentials';
import { FINANCE_VMSS, oneGroupManifest } from '../../helpers/manifest';
import { DEFAULT_SCALING } from '../../../constructs/scaling';
import type { ComputeDriver, ScaleSetRef } from '../../../runtime/azure/compute';
import { parseManifest, ScalingSettings, sha256Hex } from '../../../runtime/config/manifest';
import { createRuntime } from '../../../runtime/server';
import { QueueNotifier } from '../../../runtime/queue/notifier';
import { DAY_MS, slotOf } from '../../../runtime/domain/history';
import { RunQueue } from '../../../runtime/queue/queue';
import { planScaling, Scaler, SCALER_LEASE, ScalerOptions } from '../../../runtime/scaler/loop';
import { PUBLISH_EVERY_MS, REPUBLISH_MS } from '../../../runtime/scaler/published-view';
import { accountText, openAccount, parseAccount } from '../../../runtime/scaler/warm-up-account';
import { DEMAND_CAP } from '../../../runtime/scaler/snapshot';
import { newId } from '../../../runtime/store/ids';
import { botModelKeyOf } from '../../../runtime/domain/bot';
import { SqliteStore } from '../../../runtime/store/sqlite';

const MINUTE = 60_000;
/** 09:02 UTC on a weekday; "yesterday" is the same time a day earlier. */
const NOW = Date.UTC(2026, 2, 10, 9, 2);
const YESTERDAY = NOW - DAY_MS;
const VMSS: ScaleSetRef = FINANCE_VMSS;
const CAPS = { maxBots: 5, capacity: 10 };

function manifest(scaling: Partial<ScalingSettings> = {}) {
  return parseManifest(manifestInput(scaling));
}

function manifestInput(scaling: Partial<ScalingSettings> = {}) {
  return oneGroupManifest({ maxBots: 5, scaling });
}

/** A scaler, with the run queue it sweeps through over the same store. */
function newScaler(options: Omit<ScalerOptions, 'queue'>): Scaler {
  return new Scaler({ ...options, queue: new RunQueue({ store: options.store, manifest: options.manifest, notifier: new QueueNotifier(), now: options.now }) });
}

/** A compute driver that records the capacities asked for and has no VMs. */
function recordingDriver(): ComputeDriver & { capacities: number[] } {
  const capacities: number[] = [];
  return {
    capacities,
    setCapacity: async (_vmss, capacity) => void capacities.push(capacity),
    deleteInstances: async () => undefined,
    listInstances: async () => [],
  };
}

/** An in-memory store that declares the finance group at `declaredAt`. */
async function financeStore(declaredAt: number): Promise<SqliteStore> {
  const store = new SqliteStore({ file: ':memory:' });
  await store.syncGroups([{ name: 'finance', vmss: VMSS }], declaredAt);
  return store;
}

/** A test's scaler stopped, if it started one, then its store closed. */
async function stopAndClose(scaler: Scaler | undefined, store: SqliteStore): Promise<void> {
  await scaler?.stop();
  await store.close();
}

/**
 * Yesterday, through the store's own API: one run three hours before this time (so the history
 * covers the hours before it), then three runs of 10 minutes each arriving 5 minutes after it.
 */
async function seedYesterday(store: SqliteStore): Promise<void> {
  await store.syncGroups([{ name: 'finance', vmss: VMSS }], YESTERDAY - 4 * 60 * MINUTE);
  await store.bindVms('finance', [{ name: 'vm-yesterday' }], 'img', CAPS, YESTERDAY - 4 * 60 * MINUTE);
  const registered = await store.register('finance', { vmName: 'vm-yesterday' }, YESTERDAY - 4 * 60 * MINUTE, testCredential());
  const bot = registered.bot!;
  for (const at of [YESTERDAY - 3 * 60 * MINUTE, YESTERDAY + 5 * MINUTE, YESTERDAY + 5 * MINUTE, YESTERDAY + 5 * MINUTE]) {
    await store.enqueue({ id: newId('run'), group: 'finance', flow: 'invoice-entry', inputs: {}, priority: 'normal', createdBy: 'ana', timeoutMinutes: 30, now: at });
    const claim = await store.claim({ botId: bot.id, group: 'finance', now: at, enabled: true });
    if (claim.kind !== 'claimed') throw new Error(`seeding: expected a claim, got ${claim.kind}`);
    await store.complete({ botId: bot.id, runId: claim.run.id, attempt: 1, status: 'succeeded', exitCode: 0, now: at + 10 * MINUTE });
  }
  await store.markDeleting([bot.id], ['idle'], YESTERDAY + 60 * MINUTE);
  await store.markDeleted([bot.id], YESTERDAY + 60 * MINUTE, { finance: 3 });
}

describe('scaler loop: predictive warm-up', () => {
  let store: SqliteStore;
  let scaler: Scaler | undefined;

  beforeEach(async () => {
    store = new SqliteStore({ file: ':memory:' });
    await seedYesterday(store);
  });

  afterEach(async () => {
    await stopAndClose(scaler, store);
    scaler = undefined;
  });

  const start = async (scaling: Partial<ScalingSettings> = {}) => {
    const driver = recordingDriver();
    // The spare bot has its own tests (history, plan); here the forecast's busy bots are counted.
    scaler = newScaler({ store, driver, manifest: manifest({ spareBot: false, ...scaling }), holder: 'test', tickMs: 60 * MINUTE, now: () => NOW });
    await scaler.start();
    await scaler.settle();
    return driver;
  };

  test('with yesterday busy at this hour, bots start before any run arrives, from the history read on ticks only', async () => {
    const read = jest.spyOn(store, 'arrivalHistory');
    const driver = await start();
    expect(await store.queueCounts()).toEqual([]);
    const bots = await store.bots('finance');
    expect(bots.map((b) => b.state)).toEqual(['provisioning', 'provisioning', 'provisioning']);
    expect(driver.capacities).toContain(3);
    expect(scaler!.lastPlan?.groups.finance.forecast).toMatchObject({ bots: 3, warmBots: 3, days: 1, pace: 1 });
    expect(read).toHaveBeenCalledTimes(1);
    expect(read).toHaveBeenCalledWith(NOW);

    // Triggered cycles between ticks plan with the history already read.
    await scaler!.cycle();
    await scaler!.cycle();
    await scaler!.settle();
    expect(read).toHaveBeenCalledTimes(1);
    expect(scaler!.lastPlan?.groups.finance.forecast?.warmBots).toBe(3);
    expect(await store.bots('finance')).toHaveLength(3);
  });

  test('the group view of the API says why the bots are there', async () => {
    const runtime = createRuntime({ manifest: manifest(), store, driver: recordingDriver(), tokens: [{ principal: 'ops', sha256: sha256Hex('ops-token') }], tickMs: 60 * MINUTE, now: () => NOW });
    try {
      const url = await runtime.listen(0, '127.0.0.1');
      await runtime.scaler.settle();
      const group = (await (await fetch(`${url}/v1/groups/finance`, { headers: { authorization: 'Bearer ops-token' } })).json()) as Record<string, any>;
      expect(group.queued).toBe(0);
      // The 3 bots yesterday kept busy at this hour, and the spare bot (on by default).
      expect(group.botCounts.provisioning).toBe(4);
      expect(group.predictiveWarmUp).toMatchObject({ bots: 4, wanted: 4, forecastBots: 4, days: 1, message: 'predictive warm-up: 4 bots planned ahead of the usual demand at this hour' });
    } finally {
      await runtime.close();
    }
  });

  test('the warm-up account: opened and written on the tick, with the bots warmed', async () => {
    await start();
    const saved = await store.warmUpAccounts();
    expect(parseAccount(saved.finance, 'finance')).toMatchObject({ mode: 'warming', planned: { at: NOW, bots: 3 }, totals: { warmed: 3 } });
    expect(scaler!.warmUpAccount('finance')?.mode).toBe('warming');
  });

  test('a paused account the store kept is read when the scaler starts leading: nothing is warmed, and the group view says why', async () => {
    const paused = { ...openAccount(NOW - 3 * DAY_MS), mode: 'paused' as const, since: NOW - 2 * DAY_MS, why: 'unused' as const, probedAt: NOW - 10 * MINUTE };
    await store.saveWarmUpAccounts({ finance: accountText(paused) }, NOW - MINUTE);
    const runtime = createRuntime({ manifest: manifest({ spareBot: false }), store, driver: recordingDriver(), tokens: [{ principal: 'ops', sha256: sha256Hex('ops-token') }], tickMs: 60 * MINUTE, now: () => NOW });
    try {
      const url = await runtime.listen(0, '127.0.0.1');
      await runtime.scaler.settle();
      expect(await store.bots('finance')).toEqual([]);
      expect(runtime.scaler.lastPlan?.groups.finance.forecast).toMatchObject({ bots: 3, warmBots: 0 });
      const group = (await (await fetch(`${url}/v1/groups/finance`, { headers: { authorization: 'Bearer ops-token' } })).json()) as Record<string, any>;
      expect(group.predictiveWarmUp).toBeNull();
      expect(group.warmUpAccount).toMatchObject({ mode: 'paused', why: 'unused', since: new Date(NOW - 2 * DAY_MS).toISOString() });
      expect(group.warmUpAccount.message).toBe('warm-up: 0 of 0 warmed bots used this week; paused since Sunday: most warmed bots went unused');
    } finally {
      await runtime.close();
    }
  });

  test('a damaged account in the store is refused with a log line, and the group starts a fresh one', async () => {
    await store.saveWarmUpAccounts({ finance: '{"mode":"sleeping"}' }, NOW - MINUTE);
    const log = jest.fn();
    scaler = newScaler({ store, driver: recordingDriver(), manifest: manifest({ spareBot: false }), holder: 'test', tickMs: 60 * MINUTE, now: () => NOW, log });
    await scaler.start();
    await scaler.settle();
    expect(log).toHaveBeenCalledWith('scaler.warm_up_account_refused', { group: 'finance', error: expect.stringMatching(/^the warm-up account of group "finance" has mode "sleeping"/) });
    expect(scaler.warmUpAccount('finance')?.mode).toBe('warming');
    expect(await store.bots('finance')).toHaveLength(3);
  });

  test('predictiveMaxBots caps the bots started ahead of demand', async () => {
    await start({ predictiveMaxBots: 1 });
    expect(await store.bots('finance')).toHaveLength(1);
    expect(scaler!.lastPlan?.groups.finance.forecast).toMatchObject({ bots: 3, warmBots: 1 });
  });

  test('with predictive: false, no bot starts ahead of demand and the history is not read', async () => {
    const read = jest.spyOn(store, 'arrivalHistory');
    const driver = await start({ predictive: false });
    expect(await store.bots('finance')).toEqual([]);
    expect(driver.capacities).toEqual([]);
    expect(scaler!.lastPlan?.groups.finance.forecast).toBeUndefined();
    expect(read).not.toHaveBeenCalled();
  });

  test('a manifest written before predictive warm-up existed has it on, looking 15 minutes ahead', () => {
    const { predictive, predictiveLeadMinutes, ...older } = DEFAULT_SCALING;
    expect([predictive, predictiveLeadMinutes]).toEqual([true, 15]);
    const parsed = parseManifest({ ...manifestInput(), groups: [{ ...manifestInput().groups[0], scaling: older }] });
    expect(planScaling(parsed.groups[0].scaling)).toMatchObject({ predictive: true, predictiveLeadMinutes: 15 });
    expect(planScaling(manifest({ predictive: false }).groups[0].scaling)).toMatchObject({ predictive: false });
  });
});

describe('scaler loop: triggered cycles', () => {
  let store: SqliteStore;
  let scaler: Scaler | undefined;

  beforeEach(() => {
    store = new SqliteStore({ file: ':memory:' });
  });

  afterEach(async () => {
    await stopAndClose(scaler, store);
    scaler = undefined;
  });

  /** Starts the scaler and waits out the cycles its start-up triggered (the reconcile's ends with one). */
  const startQuiet = async (s: Scaler) => {
    await s.start();
    await s.settle();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await s.settle();
  };

  /** Resolves once the store has been asked for queue counts `times` times (once per cycle), or rejects after `ms`. */
  const cycles = (spy: jest.SpyInstance, times: number, ms: number) =>
    new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + ms;
      const poll = () => {
        if (spy.mock.calls.length >= times) resolve();
        else if (Date.now() > deadline) reject(new Error(`${spy.mock.calls.length} cycles within ${ms} ms, expected ${times}`));
        else setTimeout(poll, 5);
      };
      poll();
    });

  test('a trigger runs a cycle at once even when the injected clock was set back', async () => {
    let clock = NOW;
    scaler = newScaler({ store, driver: recordingDriver(), manifest: manifest({ predictive: false }), holder: 'test', tickMs: 60 * MINUTE, now: () => clock });
    await startQuiet(scaler);
    const counted = jest.spyOn(store, 'queueCounts');
    clock = NOW - DAY_MS;
    scaler.trigger();
    await cycles(counted, 1, 1000);
  });

  test('triggers during a cycle coalesce into one more cycle', async () => {
    scaler = newScaler({ store, driver: recordingDriver(), manifest: manifest({ predictive: false }), holder: 'test', tickMs: 60 * MINUTE, now: () => NOW });
    await startQuiet(scaler);
    const counted = jest.spyOn(store, 'queueCounts');
    const running = scaler.cycle();
    for (let i = 0; i < 10; i++) scaler.trigger();
    await running;
    await cycles(counted, 2, 1000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await scaler.settle();
    expect(counted).toHaveBeenCalledTimes(2);
  });
});

describe('scaler loop: group samples for the dashboard chart', () => {
  let store: SqliteStore;
  let scaler: Scaler | undefined;

  beforeEach(async () => {
    store = await financeStore(NOW - MINUTE);
  });

  afterEach(async () => {
    await stopAndClose(scaler, store);
    scaler = undefined;
  });

  const enqueueMany = async (n: number) => {
    for (let i = 0; i < n; i++) {
      await store.enqueue({ id: newId('run'), group: 'finance', flow: 'invoice-entry', inputs: {}, priority: 'normal', createdBy: `user-${i}`, timeoutMinutes: 30, now: NOW - MINUTE });
    }
  };

  const start = async () => {
    scaler = newScaler({ store, driver: recordingDriver(), manifest: manifest({ predictive: false }), holder: 'test', tickMs: 60 * MINUTE, now: () => NOW });
    await scaler.start();
    await scaler.settle();
  };

  test('a tick records the group\'s queued runs and bots by state in the slot of now', async () => {
    await enqueueMany(3);
    await start();
    const [sample] = await store.groupSamples('finance', NOW - DAY_MS, NOW + DAY_MS);
    expect(sample).toEqual({ slot: slotOf(NOW), queued: 3, running: 0, bots: { provisioning: 0, idle: 0, busy: 0, deleting: 0, failed: 0 } });
  });

  test('the cycles triggered between ticks write no sample', async () => {
    const write = jest.spyOn(store, 'recordGroupSamples');
    await start();
    expect(write).toHaveBeenCalledTimes(1);
    await scaler!.cycle();
    await scaler!.cycle();
    await scaler!.settle();
    expect(write).toHaveBeenCalledTimes(1);
  });

  test('the sample counts the queue beyond the cap plan() reads', async () => {
    await enqueueMany(DEMAND_CAP + 5);
    await start();
    const [sample] = await store.groupSamples('finance', NOW - DAY_MS, NOW + DAY_MS);
    expect(sample.queued).toBe(DEMAND_CAP + 5);
  });

  test('a failed sample write is logged and the cycle still scales', async () => {
    jest.spyOn(store, 'recordGroupSamples').mockRejectedValue(new Error('disk full'));
    const log = jest.fn();
    await enqueueMany(1);
    const driver = recordingDriver();
    scaler = newScaler({ store, driver, manifest: manifest({ predictive: false }), holder: 'test', tickMs: 60 * MINUTE, now: () => NOW, log });
    await scaler.start();
    await scaler.settle();
    expect(log).toHaveBeenCalledWith('scaler.samples_failed', { error: 'disk full' });
    expect(driver.capacities.length).toBeGreaterThan(0);
  });
});

describe('scaler loop: the group views it publishes for the other replicas', () => {
  let store: SqliteStore;
  let scaler: Scaler | undefined;
  let clock = NOW;

  beforeEach(async () => {
    clock = NOW;
    store = await financeStore(NOW - MINUTE);
  });

  afterEach(async () => {
    await stopAndClose(scaler, store);
    scaler = undefined;
  });

  const start = async (log?: (event: string, fields?: Record<string, unknown>) => void) => {
    scaler = newScaler({ store, driver: recordingDriver(), manifest: manifest({ predictive: false }), holder: 'test', tickMs: 60 * MINUTE, now: () => clock, log });
    await scaler.start();
    await scaler.settle();
  };
  const cycleAt = async (at: number) => {
    clock = at;
    await scaler!.cycle();
    await scaler!.settle();
  };
  const enqueue = () => store.enqueue({ id: newId('run'), group: 'finance', flow: 'invoice-entry', inputs: {}, priority: 'normal', createdBy: 'ana', timeoutMinutes: 30, now: clock });
  const published = async () => {
    const p = await store.publishedGroupView('finance');
    return p && { ...p, view: JSON.parse(p.view) };
  };

  test('the leader publishes on its first cycle, then a change no sooner than PUBLISH_EVERY_MS after its last write', async () => {
    const write = jest.spyOn(store, 'publishGroupViews');
    await start();
    expect(write).toHaveBeenCalledTimes(1);
    expect(await published()).toMatchObject({ publishedAt: NOW, view: { plan: { waiting: [] } } });
    await enqueue();
    await cycleAt(NOW + 1000);
    expect(write).toHaveBeenCalledTimes(1);
    await cycleAt(NOW + PUBLISH_EVERY_MS);
    expect(write).toHaveBeenCalledTimes(2);
    expect(await published()).toMatchObject({ publishedAt: NOW + PUBLISH_EVERY_MS, view: { plan: { waiting: [{ code: 'provisioning', bots: 1 }] } } });
  });

  test('an unchanged view is not written on every cycle, only again after REPUBLISH_MS', async () => {
    const write = jest.spyOn(store, 'publishGroupViews');
    await start();
    await cycleAt(NOW + PUBLISH_EVERY_MS);
    await cycleAt(NOW + REPUBLISH_MS - 1);
    expect(write).toHaveBeenCalledTimes(1);
    await cycleAt(NOW + REPUBLISH_MS);
    expect(write).toHaveBeenCalledTimes(2);
    expect((await published())?.publishedAt).toBe(NOW + REPUBLISH_MS);
  });

  test('a replica that does not lead publishes nothing', async () => {
    await store.acquireLease(SCALER_LEASE, 'other-replica', 60 * MINUTE, NOW);
    const write = jest.spyOn(store, 'publishGroupViews');
    await start();
    expect(scaler!.isLeader).toBe(false);
    expect(write).not.toHaveBeenCalled();
  });

  test('a failed write is logged, the cycle still scales, and the next cycle writes', async () => {
    const write = jest.spyOn(store, 'publishGroupViews').mockRejectedValueOnce(new Error('disk full'));
    const log = jest.fn();
    await enqueue();
    await start(log);
    expect(log).toHaveBeenCalledWith('scaler.view_publish_failed', { groups: ['finance'], error: 'disk full' });
    expect(await store.bots('finance')).toHaveLength(1);
    expect(await published()).toBeUndefined();
    await cycleAt(NOW + 1);
    expect(write).toHaveBeenCalledTimes(2);
    expect((await published())?.view.plan.waiting).toEqual([{ code: 'provisioning', bots: 1 }]);
  });
});

describe('scaler loop: scale-ins say why', () => {
  let store: SqliteStore;
  let scaler: Scaler | undefined;

  beforeEach(async () => {
    store = await financeStore(NOW - 60 * MINUTE);
  });

  afterEach(async () => {
    await stopAndClose(scaler, store);
    scaler = undefined;
  });

  /** One bot of the group, registered and idle since `idleSince`, its agent polling until a minute ago. */
  const idleBot = async (idleSince: number) => {
    await store.bindVms('finance', [{ name: 'vm-1' }], botModelKeyOf(manifest().groups[0]), CAPS, idleSince);
    const bot = (await store.register('finance', { vmName: 'vm-1' }, idleSince, testCredential())).bot!;
    await store.touchBot(bot.id, NOW - MINUTE);
    return bot;
  };

  /** A driver whose scale set holds the bot's VM. */
  const withVm = (): ComputeDriver => ({ ...recordingDriver(), listInstances: async () => [{ name: 'vm-1', id: '/vm-1', provisioningState: 'Succeeded' }] });

  const start = async (log: jest.Mock) => {
    scaler = newScaler({ store, driver: withVm(), manifest: manifest({ predictive: false }), holder: 'test', tickMs: 60 * MINUTE, now: () => NOW, log });
    await scaler.start();
    await scaler.settle();
  };

  test('an idle bot past idleMinutes: the log line and the recent scale-ins give the reason in words', async () => {
    const bot = await idleBot(NOW - 11 * MINUTE);
    const log = jest.fn();
    await start(log);
    const message = "1 idle bot released: idle, not needed for the group's runs, standby or warm-up";
    expect(log).toHaveBeenCalledWith('scaler.scale_in', { group: 'finance', bots: [bot.id], reason: 'idle', message });
    expect(scaler!.recentScaleIns('finance')).toEqual([{ at: NOW, botIds: [bot.id], reason: 'idle' }]);
  });

  test("a paused group's idle bot goes for its maintenance, and the group view says so", async () => {
    const bot = await idleBot(NOW - 11 * MINUTE);
    await store.setPaused('finance', true, NOW - 5 * MINUTE, { id: 'ops', via: 'api' });
    const runtime = createRuntime({ manifest: manifest({ predictive: false }), store, driver: withVm(), tokens: [{ principal: 'ops', sha256: sha256Hex('ops-token') }], tickMs: 60 * MINUTE, now: () => NOW });
    try {
      const url = await runtime.listen(0, '127.0.0.1');
      await runtime.scaler.settle();
      const group = (await (await fetch(`${url}/v1/groups/finance`, { headers: { authorization: 'Bearer ops-token' } })).json()) as Record<string, any>;
      expect(group.scaleIns).toEqual([{ at: new Date(NOW).toISOString(), bots: 1, reason: 'maintenance', message: '1 idle bot released: group paused for maintenance' }]);
      expect(runtime.scaler.recentScaleIns('finance')[0].botIds).toEqual([bot.id]);
    } finally {
      await runtime.close();
    }
  });
});

describe('scaler loop: burst leftovers', () => {
  let store: SqliteStore;
  let scaler: Scaler | undefined;

  beforeEach(async () => {
    store = new SqliteStore({ file: ':memory:' });
  });

  afterEach(async () => {
    await stopAndClose(scaler, store);
    scaler = undefined;
  });

  test('with predictive warm-up, an idle bot the recent arrivals will not use goes after EARLY_IDLE_MINUTES, as the simulator has it', async () => {
    // One run an hour ago, none since: the group's recent rate is 0. Its bot went idle 4 minutes ago.
    await store.syncGroups([{ name: 'finance', vmss: VMSS }], NOW - 2 * 60 * MINUTE);
    await store.bindVms('finance', [{ name: 'vm-1' }], botModelKeyOf(manifest().groups[0]), CAPS, NOW - 2 * 60 * MINUTE);
    const bot = (await store.register('finance', { vmName: 'vm-1' }, NOW - 2 * 60 * MINUTE, testCredential())).bot!;
    await store.enqueue({ id: newId('run'), group: 'finance', flow: 'invoice-entry', inputs: {}, priority: 'normal', createdBy: 'ana', timeoutMinutes: 90, now: NOW - 60 * MINUTE });
    const claim = await store.claim({ botId: bot.id, group: 'finance', now: NOW - 60 * MINUTE, enabled: true });
    if (claim.kind !== 'claimed') throw new Error(`seeding: expected a claim, got ${claim.kind}`);
    await store.complete({ botId: bot.id, runId: claim.run.id, attempt: 1, status: 'succeeded', exitCode: 0, now: NOW - 4 * MINUTE });
    await store.touchBot(bot.id, NOW - MINUTE);
    const driver: ComputeDriver = { ...recordingDriver(), listInstances: async () => [{ name: 'vm-1', id: '/vm-1', provisioningState: 'Succeeded' }] };
    scaler = newScaler({ store, driver, manifest: manifest({ spareBot: false }), holder: 'test', tickMs: 60 * MINUTE, now: () => NOW });
    await scaler.start();
    await scaler.settle();
    expect(scaler.recentScaleIns('finance')).toEqual([{ at: NOW, botIds: [bot.id], reason: 'idle' }]);
  });
});
