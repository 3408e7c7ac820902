import { formatTrace, parseTrace, TraceError, type TraceRun } from '../../../runtime/sim/trace';

const HEADER = 'at,group,flow,durationSeconds,priority';
const ROW = '2026-01-05T09:00:12Z,finance,invoice-entry,372,normal';

/** The TraceError parseTrace throws for a trace of the header and these rows. */
function errorFor(rows: readonly string[], source = 'runs.csv'): TraceError {
  try {
    parseTrace([HEADER, ...rows].join('\n') + '\n', source);
  } catch (err) {
    expect(err).toBeInstanceOf(TraceError);
    return err as TraceError;
  }
  throw new Error('parseTrace accepted the trace');
}

describe('parseTrace and formatTrace', () => {
  test('round trip: whole-second times and integer durations come back equal', () => {
    const runs: TraceRun[] = [
      { at: Date.UTC(2026, 0, 5, 9, 0, 12), group: 'finance', flow: 'invoice-entry', durationSeconds: 372, priority: 'normal' },
      { at: Date.UTC(2026, 0, 5, 9, 0, 12), group: 'sales', flow: 'lead-sync', durationSeconds: 30, priority: 'high' },
      { at: Date.UTC(2026, 0, 6, 23, 59, 59), group: 'a1-b', flow: 'F.v_2-x', durationSeconds: 86400, priority: 'normal' },
    ];
    const text = formatTrace(runs);
    expect(text).toBe(`${HEADER}\n${ROW}\n2026-01-05T09:00:12Z,sales,lead-sync,30,high\n2026-01-06T23:59:59Z,a1-b,F.v_2-x,86400,normal\n`);
    expect(parseTrace(text)).toEqual(runs);
  });

  test('accepts milliseconds, offsets and decimal durations', () => {
    const [a, b] = parseTrace(`${HEADER}\n2026-01-05T09:00:12.250Z,finance,f,0.5,high\n2026-01-05T10:00:13+01:00,finance,f,12.75,normal\n`);
    expect(a).toEqual({ at: Date.UTC(2026, 0, 5, 9, 0, 12, 250), group: 'finance', flow: 'f', durationSeconds: 0.5, priority: 'high' });
    expect(b.at).toBe(Date.UTC(2026, 0, 5, 9, 0, 13));
    expect(b.durationSeconds).toBe(12.75);
  });

  test('a wrong header names line 1 and the expected header', () => {
    const err = (() => {
      try {
        parseTrace('at,group,flow,duration,priority\n' + ROW + '\n', 'runs.csv');
      } catch (e) {
        return e as TraceError;
      }
      throw new Error('accepted');
    })();
    expect(err).toBeInstanceOf(TraceError);
    expect(err.line).toBe(1);
    expect(err.source).toBe('runs.csv');
    expect(err.message).toBe('runs.csv line 1: expected the header "at,group,flow,durationSeconds,priority", found "at,group,flow,duration,priority"');
  });

  test('an empty file is a header error', () => {
    expect(() => parseTrace('', 'runs.csv')).toThrow('runs.csv line 1: expected the header "at,group,flow,durationSeconds,priority", the file is empty');
  });

  test.each([
    ['not ISO', '2026-01-05 09:00:12Z', /is not an ISO 8601 time/],
    ['no zone', '2026-01-05T09:00:12', /has no zone/],
    ['not a date', '2026-02-30T09:00:12Z', /is not a valid date and time/],
  ])('at %s names line, column and value', (_, at, rule) => {
    const err = errorFor([ROW, ROW, `${at},finance,invoice-entry,372,normal`]);
    expect(err.line).toBe(4);
    expect(err.column).toBe('at');
    expect(err.message).toContain(`runs.csv line 4, column at: "${at}" `);
    expect(err.message).toMatch(rule);
  });

  test.each([
    ['group', 'Finance', 'is not a group name'],
    ['group', 'finance-', 'is not a group name'],
    ['flow', 'invoice entry', 'is not a flow name'],
    ['flow', '-invoice', 'is not a flow name'],
    ['priority', 'urgent', 'is not a priority (high or normal)'],
  ] as const)('bad %s "%s" names line, column and value', (column, value, rule) => {
    const fields: Record<string, string> = { group: 'finance', flow: 'invoice-entry', priority: 'normal' };
    fields[column] = value;
    const err = errorFor([ROW, `2026-01-05T09:00:13Z,${fields.group},${fields.flow},60,${fields.priority}`]);
    expect(err.line).toBe(3);
    expect(err.column).toBe(column);
    expect(err.message).toContain(`runs.csv line 3, column ${column}: "${value}" ${rule}`);
  });

  test.each(['0', '-3', 'abc', '', '86401', '1e3'])('duration "%s" is not a positive number of seconds', (value) => {
    const err = errorFor([`2026-01-05T09:00:13Z,finance,invoice-entry,${value},normal`]);
    expect(err.line).toBe(2);
    expect(err.column).toBe('durationSeconds');
    expect(err.message).toBe(`runs.csv line 2, column durationSeconds: "${value}" is not a positive number of seconds (at most 86400)`);
  });

  test('a quoted field is an error naming its column', () => {
    const err = errorFor(['2026-01-05T09:00:13Z,"finance",invoice-entry,60,normal']);
    expect(err.column).toBe('group');
    expect(err.message).toContain('runs.csv line 2, column group: "\\"finance\\"" is quoted');
  });

  test('a wrong field count names the line and the count', () => {
    const err = errorFor([ROW, '2026-01-05T09:00:13Z,finance,invoice-entry,60']);
    expect(err.line).toBe(3);
    expect(err.column).toBeUndefined();
    expect(err.message).toBe('runs.csv line 3: expected 5 fields (at,group,flow,durationSeconds,priority), found 4');
  });

  test('a row earlier than the one before names its line, the at column and the previous time', () => {
    const err = errorFor([ROW, '2026-01-05T09:00:13Z,finance,f,60,normal', '', '2026-01-05T09:00:11Z,finance,f,60,normal']);
    expect(err.line).toBe(5);
    expect(err.column).toBe('at');
    expect(err.message).toBe(
      'runs.csv line 5, column at: "2026-01-05T09:00:11Z" is earlier than the previous row (line 3, 2026-01-05T09:00:13Z); rows must be in time order',
    );
  });

  test('a trace with only a header holds no runs', () => {
    expect(() => parseTrace(`${HEADER}\n\n`, 'runs.csv')).toThrow('runs.csv line 1: the trace holds no runs, only the header');
  });

  test('stops at the first bad line', () => {
    const err = errorFor([ROW, 'x,finance,f,60,normal', '2026-01-05T09:00:13Z,finance,f,-1,normal']);
    expect(err.line).toBe(3);
  });

  test('accepts a BOM and CRLF line endings', () => {
    const text = `\uFEFF${HEADER}\r\n${ROW}\r\n2026-01-05T09:01:00Z,sales,lead-sync,60,high\r\n`;
    expect(parseTrace(text)).toEqual(parseTrace(`${HEADER}\n${ROW}\n2026-01-05T09:01:00Z,sales,lead-sync,60,high\n`));
  });

  test('ignores blank lines, including trailing ones', () => {
    expect(parseTrace(`${HEADER}\n\n${ROW}\n\n\n`)).toHaveLength(1);
    expect(parseTrace(`${HEADER}\n${ROW}`)).toHaveLength(1);
  });

  test('the default source is "trace"', () => {
    expect(() => parseTrace(`${HEADER}\n${ROW.replace('normal', 'low')}\n`)).toThrow(/^trace line 2, column priority: "low"/);
  });

  test('formatTrace writes seconds without milliseconds and whole-second durations', () => {
    const text = formatTrace([{ at: Date.UTC(2026, 0, 5, 9, 0, 12, 999), group: 'finance', flow: 'f', durationSeconds: 59.6, priority: 'normal' }]);
    expect(text).toBe(`${HEADER}\n2026-01-05T09:00:12Z,finance,f,60,normal\n`);
  });

  test('formatTrace refuses runs the parser would reject', () => {
    const run: TraceRun = { at: Date.UTC(2026, 0, 5), group: 'finance', flow: 'f', durationSeconds: 60, priority: 'normal' };
    expect(() => formatTrace([{ ...run, group: 'a,b' }])).toThrow(/group is not a group name/);
    expect(() => formatTrace([run, { ...run, at: run.at - 1000 }])).toThrow(/time order/);
  });
});
