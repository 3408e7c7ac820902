import { busiestWeek, localSubmitTime, localWallClock, parseSwf, SwfError, weekOf } from '../../bench/swf';

/** Monday 1997-05-12 00:00 in Stockholm (summer time, UTC+2), epoch seconds. */
const MONDAY = Date.UTC(1997, 4, 11, 22) / 1000;
const HOUR = 3600;
const DAY = 24 * HOUR;

/** A job line with the fields the tests set, -1 elsewhere. */
function job(n: number, submit: number, run: number, extra: { requested?: number; queue?: number } = {}): string {
  const fields = [n, submit, 0, run, 1, -1, -1, 1, extra.requested ?? -1, -1, 1, 7, 7, -1, extra.queue ?? -1, -1, -1, -1];
  return fields.join(' ');
}

function log(jobs: string[], header = [`; UnixStartTime: ${MONDAY}`, '; TimeZoneString: Europe/Stockholm']): string {
  return `${['; Version: 2.2', ...header, '; Queue:  1  development', '; Queue:  2  prod_small', ';'].join('\n')}\n${jobs.join('\n')}\n`;
}

describe('parseSwf', () => {
  test('reads the header\'s start, zone and queues, and each job\'s 18 fields by name', () => {
    const parsed = parseSwf(log([job(1, 60, 300, { requested: 3600, queue: 2 })]));
    expect(parsed.unixStartTime).toBe(MONDAY);
    expect(parsed.timeZone).toBe('Europe/Stockholm');
    expect([...parsed.queues]).toEqual([
      [1, 'development'],
      [2, 'prod_small'],
    ]);
    expect(parsed.jobs[0]).toMatchObject({ job: 1, submitTime: 60, runTime: 300, requestedTime: 3600, queue: 2, line: 7 });
    expect(parsed.headerLines).toHaveLength(6);
  });

  test('keeps each job line as written, for excerpts', () => {
    const line = `   15   599850 192180   3477    4     -1    -1    4  53940    -1  1  12  12  -1 -1 -1 -1 -1`;
    expect(parseSwf(log([line])).jobs[0].text).toBe(line);
  });

  test('refuses a job line without 18 fields, naming the line', () => {
    expect(() => parseSwf(log([job(1, 0, 10), '2 10 0 5']), 'k.swf')).toThrow('k.swf line 8: expected 18 fields (job submitTime waitTime runTime');
  });

  test('refuses a field that is not a number, naming the field and the value', () => {
    expect(() => parseSwf(log([job(1, 0, 10).replace(/^1 0 0 10/, '1 0 0 ten')]), 'k.swf')).toThrow('k.swf line 7: field runTime "ten" is not a number');
  });

  test('refuses jobs out of submit order', () => {
    expect(() => parseSwf(log([job(1, 100, 10), job(2, 50, 10)]))).toThrow(/line 8: field submitTime 50 is earlier than the previous job's \(100, line 7\)/);
  });

  test('refuses a header comment after the first job', () => {
    expect(() => parseSwf(`${log([job(1, 0, 10)])}; Note: late\n`)).toThrow(/line 8: is a header comment after the first job/);
  });

  test('refuses a header without UnixStartTime', () => {
    expect(() => parseSwf(log([job(1, 0, 10)], ['; TimeZoneString: Europe/Stockholm']))).toThrow(/UnixStartTime "" is not a whole number of epoch seconds/);
  });

  test('refuses a TimeZoneString that is not an IANA zone', () => {
    expect(() => parseSwf(log([job(1, 0, 10)], [`; UnixStartTime: ${MONDAY}`, '; TimeZoneString: Mars/Olympus']))).toThrow(/TimeZoneString "Mars\/Olympus" is not an IANA time zone/);
  });

  test('refuses a Queue line without a number and a name', () => {
    expect(() => parseSwf(`; Queue: batch\n${log([job(1, 0, 10)])}`)).toThrow(/line 1: Queue "batch" is not a queue number and name/);
  });

  test('refuses a log with no jobs', () => {
    expect(() => parseSwf(log([]))).toThrow(SwfError);
  });
});

describe('local time', () => {
  test('localWallClock gives the site\'s wall clock, summer time included, written as UTC', () => {
    expect(new Date(localWallClock(Date.UTC(1997, 4, 12, 7, 12) / 1000, 'Europe/Stockholm')).toISOString()).toBe('1997-05-12T09:12:00.000Z');
    expect(new Date(localWallClock(Date.UTC(1995, 2, 28, 16) / 1000, 'US/Mountain')).toISOString()).toBe('1995-03-28T09:00:00.000Z');
  });

  test('a job\'s submit time is counted from UnixStartTime', () => {
    const parsed = parseSwf(log([job(1, DAY + 9 * HOUR, 10)]));
    expect(new Date(localSubmitTime(parsed, parsed.jobs[0])).toISOString()).toBe('1997-05-13T09:00:00.000Z');
  });

  test('weekOf names the Monday of the week; Sunday belongs to the week before', () => {
    expect(weekOf(Date.UTC(1997, 4, 12))).toBe('1997-05-12');
    expect(weekOf(Date.UTC(1997, 4, 18, 23, 59))).toBe('1997-05-12');
    expect(weekOf(Date.UTC(1997, 4, 19))).toBe('1997-05-19');
  });

  test('busiestWeek counts jobs by local week, the earliest on a tie', () => {
    // 7 days and 1 hour after the start is 01:00 on Monday in Stockholm but 23:00 on Sunday in UTC: the second week's.
    const parsed = parseSwf(log([job(1, HOUR, 10), job(2, 7 * DAY - HOUR, 10), job(3, 7 * DAY + HOUR, 10), job(4, 8 * DAY, 10), job(5, 9 * DAY, 10)]));
    expect(busiestWeek(parsed)).toEqual({ week: '1997-05-19', jobs: 3 });
    const tie = parseSwf(log([job(1, HOUR, 10), job(2, 8 * DAY, 10)]));
    expect(busiestWeek(tie)).toEqual({ week: '1997-05-12', jobs: 1 });
  });
});
