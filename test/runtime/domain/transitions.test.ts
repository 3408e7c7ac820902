import type { Bot } from '../../../runtime/domain/bot';
import type { Run } from '../../../runtime/domain/run';
import {
  botLost,
  botRoom,
  claimGate,
  CompletionReport,
  decideCancel,
  decideComplete,
  decideHeartbeat,
  decideMoveToTop,
  decideRegister,
  decideReturn,
  enqueueRefusal,
  groupHandsOut,
  groupInactive,
  groupRemoved,
  mayMarkDeleted,
  mayMarkDeleting,
  mayMarkFailed,
  newBot,
  placeVm,
  queueTimeout,
  timedOut,
  userQueueFull,
} from '../../../runtime/domain/transitions';

const T0 = 1_700_000_000_000;
const MINUTE = 60_000;

function run(overrides: Partial<Run> = {}): Run {
  return {
    id: 'run_1',
    group: 'finance',
    flow: 'invoice',
    inputs: {},
    priority: 'normal',
    state: 'running',
    attempts: 1,
    createdBy: 'ana',
    timeoutMinutes: 30,
    enqueuedAt: T0,
    queuedAt: T0,
    startedAt: T0,
    cancelRequested: false,
    botId: 'bot_1',
    vmName: 'vm-1',
    ...overrides,
  };
}

function bot(overrides: Partial<Bot> = {}): Bot {
  return {
    id: 'bot_1',
    group: 'finance',
    vmName: 'vm-1',
    state: 'busy',
    createdAt: T0,
    registeredAt: T0,
    stateChangedAt: T0,
    lastSeenAt: T0,
    currentRunId: 'run_1',
    runsCompleted: 0,
    imageKey: 'img',
    ...overrides,
  };
}

const report = (overrides: Partial<CompletionReport> = {}): CompletionReport => ({ botId: 'bot_1', attempt: 1, status: 'succeeded', exitCode: 0, output: 'ok', ...overrides });

describe('enqueue and claim gates', () => {
  const open = { paused: false, expired: false, declared: true, claimLimit: undefined };

  test.each([
    ['an unknown group', undefined, 'group_unknown'],
    ['a group gone from the manifest', { ...open, declared: false }, 'group_unknown'],
    ['an expired group', { ...open, expired: true }, 'group_expired'],
    ['a declared, live group', open, undefined],
  ])('%s: %s', (_, group, refusal) => {
    expect(enqueueRefusal(group)).toBe(refusal);
  });

  test.each([
    [2, 3, false],
    [3, 3, true],
    [99, undefined, false],
  ])('%i queued runs against a limit of %s: full %s', (queued, limit, full) => {
    expect(userQueueFull(queued, limit)).toBe(full);
  });

  test('an idle bot of the group may take a run', () => {
    const idle = bot({ state: 'idle', currentRunId: undefined });
    expect(claimGate(idle, 'finance', true)).toEqual({ kind: 'open', bot: idle });
  });

  test.each([
    ['busy', true],
    ['provisioning', true],
    ['idle', false],
  ] as const)('a %s bot (environment enabled: %s) takes nothing but is seen', (state, enabled) => {
    expect(claimGate(bot({ state }), 'finance', enabled)).toMatchObject({ kind: 'none' });
  });

  test.each(['failed', 'deleting', 'deleted'] as const)('a %s bot is told it is gone', (state) => {
    expect(claimGate(bot({ state }), 'finance', true)).toEqual({ kind: 'gone', state });
  });

  test.each([
    ['an unknown bot', undefined],
    ["another group's bot", bot({ group: 'sales' })],
  ])('%s is gone as unknown', (_, b) => {
    expect(claimGate(b, 'finance', true)).toEqual({ kind: 'gone', state: 'unknown' });
  });

  test.each([
    ['an open group', open, undefined, true],
    ['a paused group', { ...open, paused: true }, undefined, false],
    ['an expired group', { ...open, expired: true }, undefined, false],
    ['an undeclared group', { ...open, declared: false }, undefined, false],
    ['an unknown group', undefined, undefined, false],
    ['a group under its claim limit', { ...open, claimLimit: 2 }, 1, true],
    ['a group at its claim limit', { ...open, claimLimit: 2 }, 2, false],
    ['a group with a limit and no count', { ...open, claimLimit: 2 }, undefined, false],
  ])('%s hands out runs: %s', (_, group, busy, hands) => {
    expect(groupHandsOut(group, busy)).toBe(hands);
  });
});

describe('decideComplete', () => {
  test('the current attempt completes with what the agent reported', () => {
    expect(decideComplete(run(), bot(), report())).toEqual({
      kind: 'completed',
      end: { state: 'succeeded', exitCode: 0, output: 'ok', errorCode: undefined, errorMessage: undefined },
    });
  });

  test.each([
    ['failed', 'exit_code'],
    ['cancelled', 'cancelled'],
  ] as const)('a %s report without an error code gets %s', (status, code) => {
    expect(decideComplete(run(), bot(), report({ status }))).toMatchObject({ kind: 'completed', end: { state: status, errorCode: code } });
  });

  test("the agent's own error code and message are kept", () => {
    expect(decideComplete(run(), bot(), report({ status: 'failed', errorCode: 'flow_error', errorMessage: 'boom' }))).toMatchObject({
      kind: 'completed',
      end: { state: 'failed', errorCode: 'flow_error', errorMessage: 'boom' },
    });
  });

  test('a run asked to cancel ends cancelled whatever the agent reports', () => {
    expect(decideComplete(run({ cancelRequested: true }), bot(), report({ status: 'succeeded' }))).toMatchObject({
      kind: 'completed',
      end: { state: 'cancelled', errorCode: 'cancelled' },
    });
  });

  test('a retried report of a completion already recorded is a duplicate', () => {
    const done = run({ state: 'succeeded', finishedAt: T0 + 1 });
    expect(decideComplete(done, bot({ state: 'idle', currentRunId: undefined }), report())).toEqual({ kind: 'duplicate' });
  });

  test.each([
    ['another bot', run({ botId: 'bot_2' }), report()],
    ['another attempt', run({ attempts: 2 }), report({ attempt: 1 })],
    ['a run that ended without this attempt', run({ state: 'failed', finishedAt: T0 + 1, attempts: 2 }), report({ attempt: 1 })],
    ['a run queued again', run({ state: 'queued', botId: undefined, startedAt: undefined }), report()],
  ])('a report for %s is stale and leaves a bot that moved on alone', (_, r, rep) => {
    expect(decideComplete(r, bot({ state: 'idle', currentRunId: undefined }), rep)).toEqual({ kind: 'stale', releaseBot: false });
  });

  test('a report for a run that ended while its bot was still on it frees the bot', () => {
    const ended = run({ state: 'failed', finishedAt: T0 + 1, errorCode: 'run_timeout', botId: 'bot_1', attempts: 1 });
    expect(decideComplete(ended, bot({ state: 'busy', currentRunId: 'run_1' }), report())).toEqual({ kind: 'stale', releaseBot: true });
  });

  test('a report for an unknown run is stale', () => {
    expect(decideComplete(undefined, bot(), report())).toEqual({ kind: 'stale', releaseBot: false });
  });
});

describe('decideReturn', () => {
  test('a run below maxAttempts goes back to the queue', () => {
    expect(decideReturn(run({ attempts: 1 }), bot(), 2)).toEqual({ kind: 'requeue' });
  });

  test('a run at maxAttempts fails with bot_lost, saying how often', () => {
    expect(decideReturn(run({ attempts: 2 }), bot(), 2)).toEqual({
      kind: 'end',
      end: { state: 'failed', errorCode: 'bot_lost', errorMessage: 'the bot was lost 2 time(s); maxAttempts is 2' },
    });
  });

  test('a group no longer declared allows one attempt', () => {
    expect(decideReturn(run({ attempts: 1 }), bot(), undefined)).toMatchObject({ kind: 'end', end: { errorCode: 'bot_lost' } });
  });

  test('a run being cancelled ends cancelled instead of going back', () => {
    expect(decideReturn(run({ cancelRequested: true }), bot(), 3)).toEqual({
      kind: 'end',
      end: { state: 'cancelled', errorCode: 'cancelled', errorMessage: 'the bot was lost while the run was being cancelled' },
    });
  });

  test.each([
    ['no run', undefined],
    ["another bot's run", run({ botId: 'bot_2' })],
    ['a run that ended', run({ state: 'succeeded', finishedAt: T0 })],
  ])('%s is left alone', (_, r) => {
    expect(decideReturn(r, bot(), 3)).toEqual({ kind: 'none' });
  });
});

describe('decideRegister', () => {
  const provisioning = bot({ id: 'bot_p', state: 'provisioning', vmName: 'vm-1', vmId: 'id-1', registeredAt: undefined, lastSeenAt: undefined, currentRunId: undefined });
  const byName = { kind: 'name', vmName: 'vm-1' } as const;
  const attested = { kind: 'attested', vmId: 'id-1', nonceValid: true } as const;

  test.each([
    ['by name', byName],
    ['by attested vmId', attested],
  ])('a VM the scaler bound to a provisioning bot of the group registers as that bot, %s', (_, claim) => {
    expect(decideRegister('finance', claim, provisioning)).toEqual({ kind: 'register', bot: provisioning });
  });

  test('a name no live bot holds is refused as vm_not_created: registering never makes a bot or binds a VM', () => {
    expect(decideRegister('finance', byName, undefined)).toEqual({
      kind: 'refused',
      refusal: 'vm_not_created',
      reason:
        'VM vm-1 is not a VM the scaler created for group finance: no VM the scaler listed in its scale set has that name. ' +
        'A bot registers only as a VM a scale-out of its group created; the agent of a new VM retries until the scaler has listed it',
    });
  });

  test('a vmId no live bot holds is refused as vm_not_created, naming the vmId', () => {
    expect(decideRegister('finance', attested, undefined)).toMatchObject({
      refusal: 'vm_not_created',
      reason: expect.stringMatching(/^the VM with vmId id-1 is not a VM the scaler created for group finance: the scaler has listed no VM of that vmId/),
    });
  });

  test('a VM whose bot registered already is refused as vm_name_taken', () => {
    expect(decideRegister('finance', byName, bot({ state: 'idle' }))).toMatchObject({
      kind: 'refused',
      refusal: 'vm_name_taken',
      reason: expect.stringMatching(/^VM vm-1 is already registered as bot bot_1;/),
    });
  });

  test("a VM of another group is refused as vm_of_another_group, without naming that group", () => {
    expect(decideRegister('sales', byName, provisioning)).toEqual({
      kind: 'refused',
      refusal: 'vm_of_another_group',
      reason: 'VM vm-1 was created for another group, not sales; a bot registers only as a VM of its own group',
    });
  });

  test.each(['failed', 'deleting'] as const)('a %s bot is refused as bot_ended', (state) => {
    expect(decideRegister('finance', byName, { ...provisioning, state })).toEqual({ kind: 'refused', refusal: 'bot_ended', reason: `VM vm-1 was the VM of bot bot_p, which is ${state}` });
  });

  test('attested data whose nonce was not valid is refused as nonce_invalid, before anything else', () => {
    expect(decideRegister('finance', { ...attested, nonceValid: false }, provisioning)).toMatchObject({
      refusal: 'nonce_invalid',
      reason: expect.stringMatching(/^the attested data's nonce was not issued to group finance, was used already, or expired; ask for a new one \(POST \/v1\/agent\/register\/nonce\)/),
    });
  });
});

describe('scaling in', () => {
  const idleSince = (at: number) => bot({ state: 'idle', currentRunId: undefined, stateChangedAt: at });

  test.each([
    ['an idle bot the plan saw idle', idleSince(T0), ['idle'], undefined, true],
    ['a bot that took a run since the plan saw it idle', bot({ state: 'busy' }), ['idle'], undefined, false],
    ['a busy bot, when the plan asked for busy ones too (image replaced)', bot({ state: 'busy' }), ['idle', 'busy'], undefined, true],
    ['a bot idle since before the idle limit', idleSince(T0), ['idle'], T0, true],
    ['a bot idle again since after the idle limit (it ran meanwhile)', idleSince(T0 + MINUTE), ['idle'], T0, false],
    ['a provisioning bot: the idle limit does not apply', bot({ state: 'provisioning' }), ['provisioning'], T0 - MINUTE, true],
    ['a bot already being deleted', bot({ state: 'deleting' }), ['idle', 'busy'], undefined, false],
    ['a bot that does not exist', undefined, ['idle'], undefined, false],
  ] as const)('mayMarkDeleting: %s → %s', (_name, b, from, idleBefore, expected) => {
    expect(mayMarkDeleting(b, from, idleBefore)).toBe(expected);
  });

  test.each([
    ['provisioning', true],
    ['idle', false],
    ['busy', false],
    ['deleting', false],
  ] as const)('mayMarkFailed: a %s bot → %s', (state, expected) => {
    expect(mayMarkFailed(bot({ state }))).toBe(expected);
  });

  test.each([
    ['deleting', true],
    ['busy', true],
    ['deleted', false],
  ] as const)('mayMarkDeleted: a %s bot → %s', (state, expected) => {
    expect(mayMarkDeleted(bot({ state }))).toBe(expected);
  });

  test('mayMarkDeleted: an unknown bot is left alone', () => {
    expect(mayMarkDeleted(undefined)).toBe(false);
  });
});

describe('newBot', () => {
  test('a bot the scaler creates waits for its agent: not registered, never seen', () => {
    expect(newBot({ id: 'bot_9', group: 'finance', imageKey: 'img', now: T0 })).toEqual({
      id: 'bot_9', group: 'finance', vmName: undefined, vmId: undefined, state: 'provisioning', imageKey: 'img', createdAt: T0, stateChangedAt: T0, runsCompleted: 0,
    });
  });

  test('a bot adopted for a listed VM keeps its name and vmId, and still waits for its agent', () => {
    expect(newBot({ id: 'bot_9', group: 'finance', vmName: 'vm-9', vmId: 'id-9', imageKey: 'img', now: T0 })).toEqual({
      id: 'bot_9', group: 'finance', vmName: 'vm-9', vmId: 'id-9', state: 'provisioning', imageKey: 'img', createdAt: T0, stateChangedAt: T0, runsCompleted: 0,
    });
  });
});

describe('placeVm and botRoom', () => {
  test('a VM binds to a waiting bot even when the caps are reached', () => {
    const waiting = bot({ state: 'provisioning', vmName: undefined });
    expect(placeVm(waiting, 0)).toEqual({ kind: 'bind', bot: waiting });
  });

  test.each([
    [1, 'adopt'],
    [0, 'unplaced'],
  ] as const)('with no bot waiting and room for %i, the VM is %s', (room, kind) => {
    expect(placeVm(undefined, room)).toEqual({ kind });
  });

  test.each([
    [{ maxBots: 5, capacity: 10 }, { inGroup: 3, total: 4 }, 2],
    [{ maxBots: 5, capacity: 10 }, { inGroup: 3, total: 9 }, 1],
    [{ maxBots: 5, capacity: 10 }, { inGroup: 6, total: 6 }, 0],
  ])('caps %j with live bots %j leave room for %i', (caps, live, room) => {
    expect(botRoom(caps, live)).toBe(room);
  });
});

describe('decideHeartbeat', () => {
  test("the current attempt's beat is recorded, and the agent carries on", () => {
    expect(decideHeartbeat(run(), bot(), 1)).toEqual({ reply: { kind: 'ok', cancel: false }, seen: true, beat: true });
  });

  test('a run asked to cancel tells its agent to stop', () => {
    expect(decideHeartbeat(run({ cancelRequested: true }), bot(), 1)).toEqual({ reply: { kind: 'ok', cancel: true }, seen: true, beat: true });
  });

  test('a run that ended while the bot is still on it tells the agent to stop, without a beat', () => {
    expect(decideHeartbeat(run({ state: 'failed', finishedAt: T0 }), bot(), 1)).toEqual({ reply: { kind: 'ok', cancel: true }, seen: true, beat: false });
  });

  test('a beat for an old attempt is stale, but the bot was seen', () => {
    expect(decideHeartbeat(run({ attempts: 2, botId: 'bot_2' }), bot({ currentRunId: 'run_9' }), 1)).toEqual({ reply: { kind: 'stale' }, seen: true, beat: false });
  });

  test.each([
    ['an unknown run', undefined, bot()],
    ['an unknown bot', run(), undefined],
  ])('a beat from %s is stale and records nothing', (_, r, b) => {
    expect(decideHeartbeat(r, b, 1)).toEqual({ reply: { kind: 'stale' }, seen: false, beat: false });
  });
});

describe('decideCancel', () => {
  test('a queued run is cancelled at once', () => {
    expect(decideCancel(run({ state: 'queued' }))).toEqual({ kind: 'cancelled', end: { state: 'cancelled', errorCode: 'cancelled' } });
  });

  test('a running run is asked to stop', () => {
    expect(decideCancel(run({ state: 'running' }))).toEqual({ kind: 'cancel_requested' });
  });

  test.each(['succeeded', 'failed', 'cancelled', 'expired'] as const)('a %s run stays as it is', (state) => {
    expect(decideCancel(run({ state }))).toEqual({ kind: 'final' });
  });
});

describe('decideMoveToTop', () => {
  test('a queued run moves to now when no move was later', () => {
    expect(decideMoveToTop(run({ state: 'queued' }), T0 - 5, T0)).toBe(T0);
  });

  test('a move within the millisecond of an earlier one goes strictly after it', () => {
    expect(decideMoveToTop(run({ state: 'queued' }), T0, T0)).toBe(T0 + 1);
  });

  test('the first move ever goes to now', () => {
    expect(decideMoveToTop(run({ state: 'queued' }), undefined, T0)).toBe(T0);
  });

  test('a run that is not queued does not move', () => {
    expect(decideMoveToTop(run({ state: 'running' }), undefined, T0)).toBeUndefined();
  });
});

describe('sweep time-outs', () => {
  const limits = { queueTimeoutMs: 60 * MINUTE, heartbeatTimeoutMs: 2 * MINUTE, idleSilenceMs: 10 * MINUTE, maxAttempts: 2, inactiveMs: 7 * 24 * 60 * MINUTE, committedBots: 0 };

  test('the queue time-out expires runs queued before now minus the time-out, with queue_timeout', () => {
    expect(queueTimeout(limits, T0)).toEqual({
      queuedBefore: T0 - 60 * MINUTE,
      end: { state: 'expired', errorCode: 'queue_timeout', errorMessage: 'waited longer than 60 minutes' },
    });
  });

  test.each([
    [30 * MINUTE, undefined],
    [30 * MINUTE + 1, 'run_timeout'],
  ])('a run started %i ms ago with a 30-minute time-out: %s', (age, code) => {
    expect(timedOut(run({ startedAt: T0 - age }), T0)?.errorCode).toBe(code);
  });

  test('a timed-out run fails, and its agent is told to stop', () => {
    expect(timedOut(run({ startedAt: T0 - 31 * MINUTE }), T0)).toEqual({
      state: 'failed',
      errorCode: 'run_timeout',
      errorMessage: "ran longer than the flow's time-out of 30 minutes",
      cancelRequested: true,
    });
  });

  test('a queued run never times out as a run', () => {
    expect(timedOut(run({ state: 'queued', startedAt: undefined }), T0 + 999 * MINUTE)).toBeUndefined();
  });

  test.each([
    ['busy', 2 * MINUTE, false],
    ['busy', 2 * MINUTE + 1, true],
    ['idle', 2 * MINUTE + 1, false],
    ['idle', 10 * MINUTE + 1, true],
    ['provisioning', 60 * MINUTE, false],
  ] as const)('a %s bot silent for %i ms is lost: %s', (state, silent, lost) => {
    expect(botLost(bot({ state, lastSeenAt: T0 - silent }), limits, T0) !== undefined).toBe(lost);
  });

  test('a lost bot fails as lost, and its silence counts from its last state change if never seen', () => {
    expect(botLost(bot({ state: 'busy', lastSeenAt: undefined, stateChangedAt: T0 - 3 * MINUTE }), limits, T0)).toEqual({ failureReason: 'lost: its agent went silent' });
  });

  const idleGroup = { expired: false, lastActivityAt: T0 - limits.inactiveMs - 1 };

  test('a group with no runs for inactiveMs expires', () => {
    expect(groupInactive(idleGroup, limits, false, T0)).toBe(true);
  });

  test.each([
    ['it has committed bots', idleGroup, { ...limits, committedBots: 1 }, false],
    ['it still has runs', idleGroup, limits, true],
    ['it was active within inactiveMs', { expired: false, lastActivityAt: T0 - limits.inactiveMs }, limits, false],
    ['it expired already', { ...idleGroup, expired: true }, limits, false],
    ['it is unknown', undefined, limits, false],
  ])('a group does not expire when %s', (_, group, l, live) => {
    expect(groupInactive(group, l, live, T0)).toBe(false);
  });

  test("a removed group's queued runs are cancelled with group_removed", () => {
    expect(groupRemoved('sales')).toEqual({ state: 'cancelled', errorCode: 'group_removed', errorMessage: 'group sales was removed from the fleet' });
  });
});
