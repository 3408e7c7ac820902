import {
  dueToPublish,
  groupViewState,
  groupViewText,
  LEADER_STALE_MS,
  parseGroupViewText,
  PUBLISH_EVERY_MS,
  readPublished,
  REPUBLISH_MS,
} from '../../../runtime/scaler/published-view';
import type { GroupPlan } from '../../../runtime/scaler/plan';
import { openAccount } from '../../../runtime/scaler/warm-up-account';

const NOW = Date.UTC(2026, 2, 10, 9, 2);
const PLAN: GroupPlan = {
  desired: 4,
  entitlement: 4,
  live: 2,
  serving: 2,
  created: 2,
  waiting: [{ code: 'provisioning', bots: 2 }],
  forecast: { bots: 3, expected: 2.6, pace: 1, days: 7, dayType: 'weekday', sameDayType: true, arrivalChance: 0.9, spare: 0, warmBots: 1, plannedBots: 1 },
};

describe('the group view the leader publishes', () => {
  test('holds only what the group view reads of the plan: the reasons why runs wait and the warm-up figures', () => {
    const state = groupViewState(PLAN, undefined, [], NOW);
    expect(state).toEqual({ plan: { waiting: [{ code: 'provisioning', bots: 2 }], forecast: { bots: 3, expected: 2.6, pace: 1, days: 7, warmBots: 1, plannedBots: 1 } }, scaleIns: [] });
  });

  test("holds the warm-up account's summary and the recent scale-ins, with how many bots each took and not which", () => {
    const state = groupViewState(undefined, openAccount(NOW - 60_000), [{ at: NOW - 1000, botIds: ['bot_1'], reason: 'idle' }], NOW);
    expect(state.plan).toBeUndefined();
    expect(state.account).toMatchObject({ mode: 'warming', since: NOW - 60_000, warmed: 0 });
    expect(state.scaleIns).toEqual([{ at: NOW - 1000, bots: 1, reason: 'idle' }]);
  });

  test('reads back as it was written', () => {
    const state = groupViewState(PLAN, openAccount(NOW), [], NOW);
    expect(parseGroupViewText(groupViewText(state))).toEqual(state);
  });

  test('a damaged text reads as none', () => {
    expect(parseGroupViewText('{not json')).toBeUndefined();
    expect(parseGroupViewText('{"plan":{}}')).toBeUndefined();
    expect(parseGroupViewText('null')).toBeUndefined();
  });
});

describe('when the leader publishes a group view', () => {
  const last = { text: 'a', at: NOW };

  test('at once when it has published none', () => {
    expect(dueToPublish(undefined, 'a', NOW)).toBe(true);
  });

  test('a changed view waits until PUBLISH_EVERY_MS after the last write', () => {
    expect(dueToPublish(last, 'b', NOW + PUBLISH_EVERY_MS - 1)).toBe(false);
    expect(dueToPublish(last, 'b', NOW + PUBLISH_EVERY_MS)).toBe(true);
  });

  test('an unchanged view is written again only after REPUBLISH_MS, well within the stale bound', () => {
    expect(dueToPublish(last, 'a', NOW + PUBLISH_EVERY_MS)).toBe(false);
    expect(dueToPublish(last, 'a', NOW + REPUBLISH_MS - 1)).toBe(false);
    expect(dueToPublish(last, 'a', NOW + REPUBLISH_MS)).toBe(true);
    expect(REPUBLISH_MS * 2).toBeLessThan(LEADER_STALE_MS);
  });

  test('a clock set back does not hold writes off', () => {
    expect(dueToPublish(last, 'b', NOW - 60_000)).toBe(true);
  });
});

describe('how a replica that does not lead reads a published view', () => {
  const view = groupViewText(groupViewState(PLAN, undefined, [], NOW));

  test('a view up to LEADER_STALE_MS old is shown, with when it was published', () => {
    expect(readPublished({ view, publishedAt: NOW }, NOW + LEADER_STALE_MS)).toEqual({ state: JSON.parse(view), publishedAt: NOW, stale: false });
  });

  test('an older one is a gone leader\'s: stale, and nothing of it is shown', () => {
    expect(readPublished({ view, publishedAt: NOW }, NOW + LEADER_STALE_MS + 1)).toEqual({ publishedAt: NOW, stale: true });
  });

  test('none published is stale too', () => {
    expect(readPublished(undefined, NOW)).toEqual({ stale: true });
  });
});
