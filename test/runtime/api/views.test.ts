import { describeWait, runView, runWaitReasons, runWebhookView, scaleInView, warmUpAccountView, warmUpView } from '../../../runtime/api/views';
import type { Run } from '../../../runtime/domain/run';
import { webhookEventSchema } from '../../../runtime/api/webhook-schemas';
import { openAccount } from '../../../runtime/scaler/warm-up-account';
import type { GroupPlan, WaitReason } from '../../../runtime/scaler/plan';
import type { Bot } from '../../../runtime/domain/bot';
import { dashboardSession, eventually, startTestFleet, USERS } from '../../helpers/local-fleet';

const NOW = 1_800_000_000_000;
const MINUTE = 60_000;

const bot = (state: Bot['state'], createdAt = NOW - MINUTE): Bot => ({
  id: `bot_${state}_${createdAt}`,
  group: 'finance',
  state,
  createdAt,
  stateChangedAt: createdAt,
  runsCompleted: 0,
  imageKey: 'img',
});

const planWith = (...waiting: WaitReason[]): GroupPlan => ({ desired: 3, entitlement: 3, live: 3, serving: 3, created: 0, waiting });
/** warmUpView of a whole group plan, as the scaler's memory has it. */
const warmUpOf = (plan: GroupPlan | undefined) => warmUpView(plan);

describe('why each queued run waits', () => {
  test('the first runs go to idle bots, the next to booting bots, the rest to the limit that holds the group', () => {
    const bots = [bot('idle'), bot('provisioning', NOW - 2 * MINUTE), bot('busy')];
    const reasons = runWaitReasons(planWith({ code: 'provisioning', bots: 1 }, { code: 'group_at_max_bots', maxBots: 3 }), bots, 4, NOW, 10 * MINUTE);
    expect(reasons).toEqual(['starting on an idle bot', '1 bot provisioning, about 8 minutes', 'group at maxBots (3)', 'group at maxBots (3)']);
  });

  test('a paused group holds every position for the same reason', () => {
    const reasons = runWaitReasons(planWith({ code: 'group_paused' }), [bot('idle')], 2, NOW, 10 * MINUTE);
    expect(reasons).toEqual(['group paused', 'group paused']);
  });

  test('with no limit in the way, runs past the free bots wait for a busy one', () => {
    expect(runWaitReasons(planWith(), [bot('busy')], 1, NOW, 10 * MINUTE)).toEqual(['waiting for a busy bot to finish']);
  });

  test('before the first plan, no reason is made up', () => {
    expect(runWaitReasons(undefined, [], 2, NOW, 10 * MINUTE)).toEqual(['waiting for a busy bot to finish', 'waiting for a busy bot to finish']);
  });

  test('short waits are counted in seconds, singular and plural', () => {
    const context = { bootMs: 1_000, now: NOW };
    expect(describeWait({ code: 'provisioning', bots: 2 }, context)).toBe('2 bots provisioning, about 1 second');
    expect(describeWait({ code: 'backoff', until: NOW + 30_000 }, context)).toBe('provisioning errors: retrying in 30 seconds');
  });

  test('a group held to its share during a rebalance names the groups it makes room for', () => {
    const context = { bootMs: 1_000, now: NOW };
    expect(describeWait({ code: 'fair_share', share: 3, others: ['sales'] }, context)).toBe('group held to its share of the capacity (3 bots) while group sales waits');
    expect(describeWait({ code: 'fair_share', share: 1, others: ['sales', 'ops'] }, context)).toBe('group held to its share of the capacity (1 bot) while group sales, group ops wait');
    expect(describeWait({ code: 'fair_share', share: 2 }, context)).toBe('group at its fair share of the capacity (2 bots) while other groups wait');
  });

  test('a scale-in names the groups it made room for only to a reader who may see them', () => {
    const record = { at: NOW, bots: 2, reason: 'rebalance' as const, to: ['sales', 'hr'], share: 3 };
    expect(scaleInView(record, 'finance')).toEqual({
      at: new Date(NOW).toISOString(),
      bots: 2,
      reason: 'rebalance',
      message: '2 idle bots released: rebalance to group sales, group hr: group finance is held to its share of 3 bots',
    });
    expect(scaleInView(record, 'finance', (g) => g === 'sales').message).toBe('2 idle bots released: rebalance to group sales, another group: group finance is held to its share of 3 bots');
    const context = { bootMs: 1_000, now: NOW, visible: () => false };
    expect(describeWait({ code: 'fair_share', share: 3, others: ['sales', 'hr'] }, context)).toBe('group held to its share of the capacity (3 bots) while 2 other groups wait');
  });

  test('predictive warm-up is named with the bots it planned ahead of the usual demand', () => {
    const forecast = { bots: 3, expected: 2.6, pace: 1, days: 7, dayType: 'weekday' as const, sameDayType: true, arrivalChance: 0.9, spare: 0, warmBots: 3, plannedBots: 3 };
    // Nothing queued or running: all 3 bots the group wants are warm-up, and it may have them.
    expect(warmUpOf({ ...planWith(), desired: 3, entitlement: 3, forecast })).toEqual({
      bots: 3,
      wanted: 3,
      forecastBots: 3,
      expectedBots: 2.6,
      pace: 1,
      days: 7,
      message: 'predictive warm-up: 3 bots planned ahead of the usual demand at this hour',
    });
    // One run queued, a forecast of 3: 2 bots of warm-up, of which the share allows 1.
    expect(warmUpOf({ ...planWith(), desired: 3, entitlement: 2, forecast: { ...forecast, warmBots: 2, plannedBots: 1 } })?.message).toBe(
      'predictive warm-up: 1 bot planned ahead of the usual demand at this hour (1 more held back by the capacity)',
    );
    expect(warmUpOf({ ...planWith(), desired: 3, entitlement: 1, forecast: { ...forecast, warmBots: 2, plannedBots: 0 } })?.message).toBe(
      'predictive warm-up: 2 bots wanted ahead of the usual demand at this hour, held back by the capacity',
    );
  });

  test("the warm-up account: this week's figures, a pause with its reason, in words; none without an account", () => {
    expect(warmUpAccountView(undefined, NOW)).toBeNull();
    const day = Math.floor(NOW / 86_400_000);
    const account = { ...openAccount(NOW - 3 * 86_400_000), mode: 'paused' as const, since: NOW - 2 * 86_400_000, why: 'unused' as const, days: [{ day, warmed: 40, used: 12, displaced: 0, botMinutes: 310, savedMinutes: 48 }] };
    const view = warmUpAccountView(account, NOW, 'UTC');
    expect(view).toMatchObject({ mode: 'paused', since: new Date(NOW - 2 * 86_400_000).toISOString(), why: 'unused', warmedBots: 40, usedBots: 12, botMinutes: 310, savedMinutes: 48 });
    expect(view?.message).toMatch(/^warm-up: 12 of 40 warmed bots used this week, saving runs up to 48 minutes of waiting for 310 bot-minutes; paused since \w+day: most warmed bots went unused$/);
  });

  test('no warm-up line without a forecast, or when the forecast adds nothing', () => {
    expect(warmUpOf(undefined)).toBeNull();
    expect(warmUpOf(planWith())).toBeNull();
    expect(warmUpOf({ ...planWith(), forecast: { bots: 1, expected: 1, pace: 1, days: 3, dayType: 'weekday', sameDayType: true, arrivalChance: 0.9, spare: 0, warmBots: 0, plannedBots: 0 } })).toBeNull();
  });
});

describe("bots in a group's view", () => {
  test("a plain user sees the VM and run of the bots running their own runs only; a co-owner sees every bot's", async () => {
    const t = await startTestFleet({ groups: { finance: { access: { users: [USERS.financeClerk, USERS.salesRep], coOwners: [USERS.financeLead] } } } });
    try {
      const start = async (who: string) => (await t.api('POST', '/v1/groups/finance/runs', { flow: 'invoice-entry', inputs: { simulateSeconds: 60 } }, who)).body.id as string;
      const clerks = await start(USERS.financeClerk);
      const reps = await start(USERS.salesRep);
      const view = async (who: string) => (await t.api('GET', '/v1/groups/finance', undefined, who)).body.bots as Array<{ vmName: string | null; currentRunId: string | null; detailsHidden: boolean }>;
      const lead = await eventually('both runs running on bots', async () => {
        const bots = await view(USERS.financeLead);
        return bots.filter((b) => b.currentRunId).length === 2 ? bots : undefined;
      }, 30_000);
      expect(lead.every((b) => !b.detailsHidden)).toBe(true);
      const clerkBot = lead.find((b) => b.currentRunId === clerks)!;
      expect(clerkBot.vmName).toMatch(/\S/);

      const seen = await view(USERS.financeClerk);
      expect(seen).toHaveLength(lead.length);
      expect(seen.filter((b) => !b.detailsHidden)).toEqual([expect.objectContaining({ currentRunId: clerks, vmName: clerkBot.vmName })]);
      for (const b of seen.filter((x) => x.detailsHidden)) expect(b).toMatchObject({ vmName: null, currentRunId: null });
      expect(JSON.stringify(seen)).not.toContain(reps);
      const { cookie } = await dashboardSession(t, USERS.salesRep);
      const html = await (await fetch(`${t.fleet.url}/groups/finance`, { headers: { cookie } })).text();
      expect(html).not.toContain(clerkBot.vmName!);
      expect(html).toContain('(shown to co-owners)');
    } finally {
      await t.stop();
    }
  }, 60_000);
});

describe('a run in a webhook', () => {
  const run: Run = {
    id: 'run_1', group: 'finance', flow: 'invoice', inputs: { password: 'hunter2' }, priority: 'normal', state: 'failed', attempts: 1, createdBy: 'ana', timeoutMinutes: 30,
    enqueuedAt: NOW - 2 * MINUTE, queuedAt: NOW - 2 * MINUTE, startedAt: NOW - MINUTE, finishedAt: NOW, cancelRequested: false, exitCode: 1, output: 'account 12345', errorCode: 'exit_code', errorMessage: 'exited with 1',
  };

  test('is the run as its own route shows it, its inputs and output null', () => {
    const view = runView(run, NOW);
    expect(runWebhookView(run, NOW)).toEqual({ ...view, inputs: null, result: { ...view.result, output: null } });
    expect(JSON.stringify(runWebhookView(run, NOW))).not.toMatch(/hunter2|12345/);
  });

  test('keeps the schema of the run, as the webhook event describes it', () => {
    expect(webhookEventSchema.safeParse({ type: 'run.failed', timestamp: new Date(NOW).toISOString(), data: runWebhookView(run, NOW) }).success).toBe(true);
  });
});
