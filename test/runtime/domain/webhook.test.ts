import { afterFailure, GIVE_UP_AFTER_MS, previousSecretSignsUntil, RETRY, runEventType, SECRET_ROTATION_GRACE_MS, signingSecrets, waitEpisode } from '../../../runtime/domain/webhook';

const T0 = 1_700_000_000_000;
const MINUTE = 60_000;

describe('runEventType', () => {
  test.each([
    [{ state: 'succeeded' }, 'run.succeeded'],
    [{ state: 'failed', errorCode: 'exit_code' }, 'run.failed'],
    [{ state: 'failed', errorCode: 'bot_lost' }, 'run.failed'],
    [{ state: 'failed', errorCode: 'run_timeout' }, 'run.timed_out'],
    [{ state: 'expired', errorCode: 'queue_timeout' }, 'run.timed_out'],
    [{ state: 'cancelled', errorCode: 'cancelled' }, 'run.cancelled'],
    [{ state: 'cancelled', errorCode: 'group_removed' }, 'run.cancelled'],
    [{ state: 'queued' }, undefined],
    [{ state: 'running' }, undefined],
  ] as const)('a run %j is %s', (run, type) => {
    expect(runEventType(run)).toBe(type);
  });
});

describe('afterFailure', () => {
  test('the first retry comes about 5 s after the first failure, within the jitter', () => {
    const low = afterFailure(1, T0, T0, 0);
    const high = afterFailure(1, T0, T0, 0.999999);
    expect(low).toEqual({ kind: 'retry', at: T0 + RETRY.firstMs * (1 - RETRY.jitter) });
    expect(high.kind === 'retry' && high.at).toBeLessThanOrEqual(T0 + RETRY.firstMs * (1 + RETRY.jitter));
  });

  test('the wait doubles with each failure', () => {
    const waits = [1, 2, 3, 4].map((n) => (afterFailure(n, T0, T0, 0.5) as { at: number }).at - T0);
    expect(waits).toEqual([5_000, 10_000, 20_000, 40_000]);
  });

  test('the wait stops growing at 2 hours', () => {
    expect((afterFailure(40, T0, T0 + 3_600_000, 0.5) as { at: number }).at).toBe(T0 + 3_600_000 + RETRY.maxMs);
  });

  test('a delivery is retried for 25 hours after its event, then given up', () => {
    expect(afterFailure(30, T0, T0 + GIVE_UP_AFTER_MS - 1, 0.5).kind).toBe('retry');
    expect(afterFailure(30, T0, T0 + GIVE_UP_AFTER_MS, 0.5)).toEqual({ kind: 'give_up' });
    expect(GIVE_UP_AFTER_MS).toBeGreaterThanOrEqual(24 * 3_600_000);
  });
});

describe('waitEpisode', () => {
  test('a wait above the threshold opens an episode', () => {
    expect(waitEpisode(T0, T0 + 11 * MINUTE, 10, false)).toBe('alert');
  });

  test('an open episode does not alert again while the wait stays above the threshold', () => {
    expect(waitEpisode(T0, T0 + 60 * MINUTE, 10, true)).toBe('none');
  });

  test('the episode closes when the oldest run waits less than the threshold', () => {
    expect(waitEpisode(T0 + 55 * MINUTE, T0 + 60 * MINUTE, 10, true)).toBe('clear');
  });

  test('the episode closes when nothing is queued', () => {
    expect(waitEpisode(undefined, T0, 10, true)).toBe('clear');
  });

  test('a wait at or below the threshold with no episode open does nothing', () => {
    expect(waitEpisode(T0, T0 + 10 * MINUTE, 10, false)).toBe('none');
  });
});

describe('signingSecrets', () => {
  const rotated = { secret: 'whsec_new', previousSecret: 'whsec_old', secretReplacedAt: T0 };

  test('a secret that never changed signs alone', () => {
    expect(signingSecrets({ secret: 'whsec_only' }, T0)).toEqual(['whsec_only']);
  });

  test('within the grace period after a rotation the new secret signs first, then the previous one', () => {
    expect(signingSecrets(rotated, T0)).toEqual(['whsec_new', 'whsec_old']);
    expect(signingSecrets(rotated, T0 + SECRET_ROTATION_GRACE_MS - 1)).toEqual(['whsec_new', 'whsec_old']);
  });

  test('once the grace period is over only the new secret signs', () => {
    expect(signingSecrets(rotated, T0 + SECRET_ROTATION_GRACE_MS)).toEqual(['whsec_new']);
  });

  test('the grace period is the 24 hours README states', () => {
    expect(SECRET_ROTATION_GRACE_MS).toBe(24 * 3_600_000);
  });

  test('a previous secret equal to the current one is not sent twice', () => {
    expect(signingSecrets({ ...rotated, previousSecret: 'whsec_new' }, T0)).toEqual(['whsec_new']);
  });

  test('a rotation that revoked the previous secret leaves the new one signing alone', () => {
    expect(signingSecrets({ secret: 'whsec_new', secretReplacedAt: T0 }, T0)).toEqual(['whsec_new']);
  });
});

describe('previousSecretSignsUntil', () => {
  test('is the end of the grace period after a rotation that kept the previous secret', () => {
    expect(previousSecretSignsUntil({ previousSecret: 'whsec_old', secretReplacedAt: T0 })).toBe(T0 + SECRET_ROTATION_GRACE_MS);
  });

  test('is undefined when there is no previous secret: never rotated, or revoked at once', () => {
    expect(previousSecretSignsUntil({})).toBeUndefined();
    expect(previousSecretSignsUntil({ secretReplacedAt: T0 })).toBeUndefined();
  });
});
