import { BODY_LIMIT, FORM_LIMITS } from '../../../runtime/http/app';
import { MAX_URL_LENGTH, pageCost, RateLimiter, RefusalDelays } from '../../../runtime/http/limits';
import { REFUSAL_LOG_LIMITS, RefusalLog } from '../../../runtime/http/refusal-log';
import { dashboardSession, startTestFleet, TestFleet, USERS } from '../../helpers/local-fleet';

describe('rate limits', () => {
  test('a request takes its cost from the bucket, and waits the seconds its cost needs', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    expect(limiter.take('u', 2, 10, 5)).toBe(0);
    expect(limiter.take('u', 2, 10, 5)).toBe(0);
    expect(limiter.take('u', 2, 10, 5)).toBe(3);
    now += 2500;
    expect(limiter.take('u', 2, 10, 5)).toBe(0);
  });

  test('a cost above the burst counts as the burst, so it can still pass on a full bucket', () => {
    const limiter = new RateLimiter(() => 0);
    expect(limiter.take('u', 1, 4, 100)).toBe(0);
    expect(limiter.take('u', 1, 4, 1)).toBe(1);
  });

  test('a page costs one, plus one per 50 runs asked for', () => {
    expect(pageCost(undefined)).toBe(2);
    expect(pageCost('1')).toBe(2);
    expect(pageCost('100')).toBe(3);
  });

  test('refusals are held back between half and all of the delay, 32 at most per token', () => {
    const delays = new RefusalDelays();
    const held = Array.from({ length: 40 }, () => delays.hold('u', 1000));
    for (const ms of held.slice(0, 32)) expect(ms).toBeGreaterThanOrEqual(500), expect(ms).toBeLessThanOrEqual(1000);
    expect(held.slice(32)).toEqual(Array(8).fill(0));
    delays.release('u');
    expect(delays.hold('u', 1000)).toBeGreaterThan(0);
    expect(delays.hold('v', 1000)).toBeGreaterThan(0);
  });
});

describe('a limiter keyed by client address', () => {
  test('forgets buckets that have filled up again once it holds its most keys', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now, 100);
    for (let i = 0; i < 100; i++) limiter.take(`address:${i}`, 1, 5);
    now += 10_000;
    limiter.take('address:new', 1, 5);
    expect(limiter.size).toBe(1);
  });

  test('holds no more than its most keys when every bucket is still in use, keeping the newest', () => {
    const limiter = new RateLimiter(() => 0, 100);
    for (let i = 0; i < 1000; i++) limiter.take(`address:${i}`, 1, 1);
    expect(limiter.size).toBeLessThanOrEqual(100);
    // The newest address is still held: its bucket is empty, so a second request waits.
    expect(limiter.take('address:999', 1, 1)).toBe(1);
  });
});

describe('log lines of refused requests without a credential', () => {
  const collect = () => {
    const lines: { event: string; fields?: Record<string, unknown> }[] = [];
    return { lines, log: (event: string, fields?: Record<string, unknown>) => void lines.push({ event, fields }) };
  };

  test('2,000 refusals from one address write 10 lines and count all 2,000', () => {
    const { lines, log } = collect();
    const counted: string[] = [];
    const refusals = new RefusalLog(log, () => 0, (reason) => counted.push(reason));
    for (let i = 0; i < 2000; i++) refusals.refused('198.51.100.7', 'signin_cross_site', 'dashboard.signin_refused');
    expect(lines).toHaveLength(REFUSAL_LOG_LIMITS.perAddressPerMinute);
    expect(lines[0]).toEqual({ event: 'dashboard.signin_refused', fields: { reason: 'signin_cross_site', address: '198.51.100.7' } });
    expect(counted).toHaveLength(2000);
  });

  test('refusals from 1,000 addresses write at most 100 lines a minute in all', () => {
    const { lines, log } = collect();
    const refusals = new RefusalLog(log, () => 0);
    for (let i = 0; i < 1000; i++) refusals.refused(`198.51.${i >> 8}.${i & 255}`, 'signin_invalid_token', 'dashboard.signin_refused');
    expect(lines).toHaveLength(REFUSAL_LOG_LIMITS.totalPerMinute);
  });

  test('after a minute, the next line comes with one line summing those left out, by reason', () => {
    const { lines, log } = collect();
    let now = 0;
    const refusals = new RefusalLog(log, () => now);
    for (let i = 0; i < 30; i++) refusals.refused('198.51.100.7', i % 2 ? 'signin_rate' : 'signin_cross_site', 'dashboard.signin_refused');
    expect(lines).toHaveLength(10);
    now += 61_000;
    refusals.refused('198.51.100.7', 'signin_rate', 'dashboard.signin_refused');
    expect(lines.slice(10).map((l) => l.event)).toEqual(['log.suppressed', 'dashboard.signin_refused']);
    expect(lines[10].fields).toMatchObject({ lines: 20, byReason: { signin_rate: 10, signin_cross_site: 10 } });
  });
});

describe('charging a request for the work it turned out to do', () => {
  test('puts the key in debt, down to minus its burst, which its next requests wait out', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    expect(limiter.take('u', 1, 10, 2)).toBe(0);
    limiter.charge('u', 100);
    // 8 left, 100 charged: the debt stops at -10, so 11 s until one request fits.
    expect(limiter.take('u', 1, 10, 1)).toBe(11);
    now += 11_000;
    expect(limiter.take('u', 1, 10, 1)).toBe(0);
  });
});

describe('bad requests refused before authentication', () => {
  /** More than a minute's allowance of log lines, so that a line per request would show. */
  const N = REFUSAL_LOG_LIMITS.totalPerMinute + 20;
  const lines: { event: string; fields?: Record<string, unknown> }[] = [];
  let t: TestFleet;

  beforeAll(async () => {
    t = await startTestFleet({}, { log: (event, fields) => void lines.push({ event, fields }) });
  });
  afterAll(async () => t.stop());

  /** The metric's count for `reason` now. */
  const refusals = async (reason: string): Promise<number> => {
    const text = await t.fleet.runtime.metrics.registry.getSingleMetricAsString('hosted_bots_unauthenticated_refusals_total');
    return Number(new RegExp(`reason="${reason}"} (\\d+)`).exec(text)?.[1] ?? 0);
  };

  const notJson = (headers: Record<string, string> = {}) =>
    fetch(`${t.fleet.url}/v1/groups/finance/runs`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"flow": broken' });

  test.each([
    ['a body that is not JSON', 400, 'invalid_json', () => notJson()],
    [
      `a body over ${BODY_LIMIT}`,
      413,
      'body_too_large',
      () => fetch(`${t.fleet.url}/v1/groups/finance/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ blob: 'x'.repeat(130 * 1024) }) }),
    ],
    [`a URL over ${MAX_URL_LENGTH} characters`, 414, 'uri_too_long', () => fetch(`${t.fleet.url}/v1/groups?${'q'.repeat(MAX_URL_LENGTH)}`)],
  ] as const)(`%s, sent ${N} times without a credential, raises the metric by ${N} under its code and writes no more lines than the bound`, async (_what, status, reason, send) => {
    const counted = await refusals(reason);
    const written = lines.length;
    for (let i = 0; i < N; i++) {
      const res = await send();
      expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([status, reason]);
    }
    expect(await refusals(reason)).toBe(counted + N);
    expect(lines.length - written).toBeLessThanOrEqual(REFUSAL_LOG_LIMITS.totalPerMinute);
  });

  /** A sign-in form of `fields` fields padded to `bytes` bytes. */
  const form = (fields: number, bytes: number) => {
    const body = Array.from({ length: fields }, (_, i) => `f${i}=`).join('&');
    return fetch(`${t.fleet.url}/signin`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: body + 'x'.repeat(bytes - body.length) });
  };
  const KIB16 = 16 * 1024;

  test.each([
    [`a form of ${KIB16 + 1} bytes`, () => form(2, KIB16 + 1), `the request body is larger than ${FORM_LIMITS.body}`],
    [`a form of ${FORM_LIMITS.fields + 1} fields`, () => form(FORM_LIMITS.fields + 1, 200), `the form has more than ${FORM_LIMITS.fields} fields`],
  ])('%s is refused with 413 before any route reads it', async (_what, send, message) => {
    const res = await send();
    expect([res.status, await res.json()]).toEqual([413, { error: { code: 'body_too_large', message } }]);
  });

  test(`a form of ${KIB16} bytes and ${FORM_LIMITS.fields} fields reaches the sign-in`, async () => {
    const res = await form(FORM_LIMITS.fields, KIB16);
    expect(res.status).not.toBe(413);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  });

  test('a body that is not JSON, sent with a bearer token that is not valid, is counted', async () => {
    const counted = await refusals('invalid_json');
    expect((await notJson({ authorization: 'Bearer not-a-token' })).status).toBe(400);
    expect(await refusals('invalid_json')).toBe(counted + 1);
  });

  test("a body that is not JSON, sent with a user's token, a bot's token or a dashboard session, is not counted", async () => {
    const counted = await refusals('invalid_json');
    const session = await dashboardSession(t, USERS.financeLead);
    for (const headers of <Array<Record<string, string>>>[{ authorization: `Bearer ${t.tokens[USERS.financeClerk]}` }, { authorization: `Bearer ${t.botTokens.finance}` }, { cookie: session.cookie }]) {
      expect((await notJson(headers)).status).toBe(400);
    }
    expect(await refusals('invalid_json')).toBe(counted);
  });
});
