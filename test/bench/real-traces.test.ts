/**
 * The real-world traces: the mapping from a job log to a trace, on small logs written here, and
 * the committed bench/traces/<name>.csv as traces of their fleets. The logs themselves are not
 * redistributed with the project; `node dist/bench/real-traces.js --check` compares the committed
 * traces with the conversion of their excerpts where those have been fetched.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  checkRealTraces,
  convertLog,
  excerptOf,
  extractExcerpt,
  MAX_RUN_SECONDS,
  parseRealTracesArgs,
  parseRecordedLog,
  REAL_TRACE_NAMES,
  REAL_TRACES,
  RealTrace,
  RealTraceName,
  sha256,
  writeRealTraces,
} from '../../bench/real-traces';
import { parseSwf } from '../../bench/swf';
import { formatTrace, parseTrace } from '../../runtime/sim/trace';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const TRACES_DIR = path.join(REPO_ROOT, 'bench', 'traces');

/** Monday 1995-03-27 00:00 in Denver (UTC-7), epoch seconds. */
const MONDAY = Date.UTC(1995, 2, 27, 7) / 1000;
const HOUR = 3600;
const DAY = 24 * HOUR;

/** A job line with the fields the tests set, -1 elsewhere. */
function job(n: number, submit: number, run: number, extra: { requested?: number; queue?: number } = {}): string {
  return [n, submit, 0, run, 1, -1, -1, 1, extra.requested ?? -1, -1, 1, 7, 7, -1, extra.queue ?? -1, -1, -1, -1].join(' ');
}

/** The queues of the LANL CM-5 log's header, as it names them. */
const LANL_QUEUES = [
  'interactive',
  'development',
  'production',
  'other',
  'scavenge_benchmark',
  'scavenge_production',
  '0',
  'scavenge_development',
  'prod_small',
  'prod_long',
  'benchmark',
  'prod_longer',
  'developer',
  'development~',
  'prod_special',
  'dev_long',
  'cm5ftp',
  'iway',
];

function lanlLog(jobs: string[], start = MONDAY, zone = 'US/Mountain'): string {
  const header = ['; Version: 2.2', `; UnixStartTime: ${start}`, `; TimeZoneString: ${zone}`, ...LANL_QUEUES.map((name, i) => `; Queue: ${i} ${name}`), ';'];
  return `${[...header, ...jobs].join('\n')}\n`;
}

/** LANL's mapping on a log written here, for the week of 1995-03-27. */
const lanl: RealTrace = REAL_TRACES['lanl-cm5'];
const kth: RealTrace = { ...REAL_TRACES['kth-sp2'], week: '1995-03-27' };

describe('convertLog: the mapping', () => {
  test('times: the site\'s wall clock, the week moved to start on Monday 2026-01-05', () => {
    // Tuesday 09:12 in Denver, summer time not yet begun (UTC-7).
    const { runs } = convertLog(lanl, parseSwf(lanlLog([job(1, DAY + 9 * HOUR + 12 * 60, 300, { queue: 1 })])));
    expect(new Date(runs[0].at).toISOString()).toBe('2026-01-06T09:12:00.000Z');
  });

  test('times: after summer time begins (Sunday 2 April 1995 in Denver), still the wall clock', () => {
    // 6 days and 9 hours after Monday 00:00 MST (07:00 UTC) is Sunday 16:00 UTC: 10:00 MDT, not 09:00 MST.
    const { runs } = convertLog(lanl, parseSwf(lanlLog([job(1, 6 * DAY + 9 * HOUR, 300, { queue: 1 })])));
    expect(new Date(runs[0].at).toISOString()).toBe('2026-01-11T10:00:00.000Z');
  });

  test('only the week\'s jobs: the Sunday before and the Monday after are left out', () => {
    const { runs } = convertLog(lanl, parseSwf(lanlLog([job(1, 0, 60, { queue: 1 }), job(2, HOUR, 60, { queue: 1 }), job(3, 7 * DAY + HOUR, 60, { queue: 1 })], MONDAY - HOUR)));
    expect(runs.map((r) => new Date(r.at).toISOString())).toEqual(['2026-01-05T00:00:00.000Z']);
  });

  test('run lengths: the job\'s run time, at least 1 s and at most 4 hours, counting the runs cut', () => {
    const conversion = convertLog(lanl, parseSwf(lanlLog([job(1, 0, 0, { queue: 1 }), job(2, 10, 725, { queue: 1 }), job(3, 20, MAX_RUN_SECONDS + 1, { queue: 1 })])));
    expect(conversion.runs.map((r) => r.durationSeconds)).toEqual([1, 725, 4 * 3600]);
    expect(conversion.cut).toBe(1);
  });

  test('a job with no run time (-1) is left out and counted', () => {
    const conversion = convertLog(lanl, parseSwf(lanlLog([job(1, 0, -1, { queue: 1 }), job(2, 10, 60, { queue: 1 })])));
    expect(conversion.runs).toHaveLength(1);
    expect(conversion.withoutRunTime).toBe(1);
  });

  test('one run per job, each normal priority, with its group\'s flow', () => {
    const { runs } = convertLog(lanl, parseSwf(lanlLog([job(1, 0, 60, { queue: 2 }), job(2, 10, 60, { queue: 6 })])));
    expect(runs).toEqual([
      { at: Date.UTC(2026, 0, 5), group: 'production', flow: 'prod-job', durationSeconds: 60, priority: 'normal' },
      { at: Date.UTC(2026, 0, 5, 0, 0, 10), group: 'other', flow: 'other-job', durationSeconds: 60, priority: 'normal' },
    ]);
  });

  test('LANL groups by queue name: interactive and development queues, production queues, the rest', () => {
    const log = parseSwf(lanlLog([...LANL_QUEUES.map((_, q) => job(q + 1, q, 60, { queue: q })), job(99, 99, 60, { queue: -1 })]));
    const groups = convertLog(lanl, log).runs.map((r) => r.group);
    const byQueue = Object.fromEntries([...LANL_QUEUES, 'none'].map((name, i) => [name, groups[i]]));
    expect(byQueue).toEqual({
      interactive: 'development',
      development: 'development',
      production: 'production',
      other: 'other',
      scavenge_benchmark: 'other',
      scavenge_production: 'production',
      '0': 'other',
      scavenge_development: 'development',
      prod_small: 'production',
      prod_long: 'production',
      benchmark: 'other',
      prod_longer: 'production',
      developer: 'development',
      'development~': 'development',
      prod_special: 'production',
      dev_long: 'development',
      cm5ftp: 'other',
      iway: 'other',
      none: 'other',
    });
  });

  test('KTH groups by requested time: at most an hour is short; more, or none requested, is long', () => {
    const log = parseSwf(lanlLog([job(1, 0, 60, { requested: 3600 }), job(2, 1, 60, { requested: 3601 }), job(3, 2, 60, { requested: -1 }), job(4, 3, 60, { requested: 60 })]));
    expect(convertLog(kth, log).runs.map((r) => [r.group, r.flow])).toEqual([
      ['short', 'short-job'],
      ['long', 'long-job'],
      ['long', 'long-job'],
      ['short', 'short-job'],
    ]);
  });

  test('when summer time ends, the hour that repeats keeps the runs in time order', () => {
    // Sunday 29 October 1995 in Denver: 01:30 MDT (07:30 UTC), then 01:10 MST (08:10 UTC).
    const start = Date.UTC(1995, 9, 23, 6) / 1000;
    const week: RealTrace = { ...lanl, week: '1995-10-23' };
    const sunday = Date.UTC(1995, 9, 29) / 1000 - start;
    const { runs } = convertLog(week, parseSwf(lanlLog([job(1, sunday + 7.5 * HOUR, 60, { queue: 1 }), job(2, sunday + 8 * HOUR + 600, 60, { queue: 1 })], start)));
    expect(runs.map((r) => new Date(r.at).toISOString())).toEqual(['2026-01-11T01:10:00.000Z', '2026-01-11T01:30:00.000Z']);
    expect(parseTrace(formatTrace(runs))).toHaveLength(2);
  });
});

describe('excerpts', () => {
  const whole = lanlLog([job(1, 0, 60, { queue: 1 }), job(2, 3 * DAY, 600, { queue: 2 }), job(3, 6 * DAY, 60, { queue: 6 }), job(4, 7 * DAY + 1, 60, { queue: 1 })], MONDAY - DAY);

  test('an excerpt holds the header\'s lines and the week\'s job lines, as written', () => {
    const excerpt = excerptOf(lanl, parseSwf(whole));
    // The log starts on Sunday 26 March: its first job is the week before's.
    expect(excerpt.split('\n').filter((l) => !l.startsWith(';'))).toEqual([job(2, 3 * DAY, 600, { queue: 2 }), job(3, 6 * DAY, 60, { queue: 6 }), job(4, 7 * DAY + 1, 60, { queue: 1 }), '']);
    expect(excerpt.startsWith(whole.slice(0, whole.indexOf('\n1 ')))).toBe(true);
  });

  test('the excerpt converts to the same trace as the whole log', () => {
    const log = parseSwf(whole);
    expect(formatTrace(convertLog(lanl, parseSwf(excerptOf(lanl, log))).runs)).toBe(formatTrace(convertLog(lanl, log).runs));
  });
});

describe('files and checksums', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'real-traces-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const whole = lanlLog([job(1, 0, 60, { queue: 1 }), job(2, DAY, 600, { queue: 2 }), job(3, DAY + 5, 30, { queue: 1 }), job(4, 2 * DAY, 60, { queue: 6 }), job(5, 9 * DAY, 60, { queue: 1 })]);
  const excerpt = excerptOf(lanl, parseSwf(whole));
  const excerptFile = 'lanl-fixture.week.swf';
  const fixture: RealTrace = { ...lanl, source: { ...lanl.source, sha256: sha256(whole) }, excerpt: { file: excerptFile, sha256: sha256(excerpt) } };
  const registry: Record<RealTraceName, RealTrace> = { ...REAL_TRACES, 'lanl-cm5': fixture };

  test('the same excerpt gives the same trace, byte for byte', () => {
    fs.writeFileSync(path.join(dir, excerptFile), excerpt);
    const [first] = writeRealTraces(dir, path.join(dir, 'a'), ['lanl-cm5'], registry);
    const [second] = writeRealTraces(dir, path.join(dir, 'b'), ['lanl-cm5'], registry);
    expect(first.runs).toBe(4);
    expect(fs.readFileSync(second.file)).toEqual(fs.readFileSync(first.file));
  });

  test('refuses a file whose SHA-256 is not the recorded one, naming both', () => {
    fs.writeFileSync(path.join(dir, excerptFile), excerpt.replace(' 600 ', ' 601 '));
    expect(() => writeRealTraces(dir, path.join(dir, 'c'), ['lanl-cm5'], registry)).toThrow(
      new RegExp(`SHA-256 [0-9a-f]{64} is not that of the excerpt ${excerptFile.replace(/\./g, '\\.')} \\(${fixture.excerpt.sha256}\\)`),
    );
  });

  test('--check names a committed trace that is not the conversion of its excerpt, and passes one that is', () => {
    fs.writeFileSync(path.join(dir, excerptFile), excerpt);
    const committed = path.join(dir, 'committed');
    writeRealTraces(dir, committed, ['lanl-cm5'], registry);
    expect(checkRealTraces(dir, committed, ['lanl-cm5'], registry)).toEqual([]);
    const file = path.join(committed, 'lanl-cm5.csv');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(',600,', ',601,'));
    expect(checkRealTraces(dir, committed, ['lanl-cm5'], registry)).toEqual(['lanl-cm5']);
  });

  test('a missing excerpt says how to write it', () => {
    expect(() => writeRealTraces(path.join(dir, 'nowhere'), path.join(dir, 'd'), ['lanl-cm5'], registry)).toThrow(/does not exist: lanl-cm5 is converted from the excerpt lanl-fixture\.week\.swf; write it with --extract from the whole log/);
  });

  test('--extract writes the excerpt from the whole log, gzipped or not', () => {
    const logFile = path.join(dir, 'whole.swf.gz');
    fs.writeFileSync(logFile, require('zlib').gzipSync(whole));
    const out = path.join(dir, 'extracted');
    expect(extractExcerpt('lanl-cm5', logFile, out, registry)).toEqual({ file: path.join(out, excerptFile), jobs: 4 });
    expect(fs.readFileSync(path.join(out, excerptFile), 'utf8')).toBe(excerpt);
  });

  test('--extract refuses a log whose busiest week is not the recorded one', () => {
    const logFile = path.join(dir, 'whole.swf');
    fs.writeFileSync(logFile, whole);
    const elsewhere = { ...registry, 'lanl-cm5': { ...fixture, week: '1995-04-03' } };
    expect(() => extractExcerpt('lanl-cm5', logFile, dir, elsewhere)).toThrow(/the busiest week is 1995-03-27 \(4 jobs\), not the recorded 1995-04-03/);
  });

  test('parseRecordedLog accepts only the kinds of file asked for', () => {
    expect(() => parseRecordedLog(fixture, excerpt, 'x.swf', ['log'])).toThrow(/is not that of the whole log LANL-CM5-1994-4\.1-cln\.swf/);
    expect(parseRecordedLog(fixture, excerpt, 'x.swf', ['excerpt']).jobs).toHaveLength(4);
  });
});

describe('the command line', () => {
  test('converts every trace unless some are named', () => {
    expect(parseRealTracesArgs([]).traces).toEqual(REAL_TRACE_NAMES);
    expect(parseRealTracesArgs(['--trace', 'kth-sp2']).traces).toEqual(['kth-sp2']);
  });

  test('refuses an unknown trace, naming the traces', () => {
    expect(() => parseRealTracesArgs(['--trace', 'sdsc'])).toThrow('--trace "sdsc" is not a real trace; the traces are kth-sp2, lanl-cm5');
  });

  test('--extract needs exactly one trace', () => {
    expect(() => parseRealTracesArgs(['--extract', 'log.swf'])).toThrow(/--extract needs exactly one --trace NAME/);
  });

  test('refuses an unknown argument and an option without its value', () => {
    expect(() => parseRealTracesArgs(['--seed', '4'])).toThrow('unknown argument "--seed"; see --help');
    expect(() => parseRealTracesArgs(['--out'])).toThrow('--out needs a value; see --help');
  });
});

describe.each(REAL_TRACE_NAMES)('bench/traces/%s.csv', (name) => {
  const trace = REAL_TRACES[name];
  const runs = parseTrace(fs.readFileSync(path.join(TRACES_DIR, `${name}.csv`), 'utf8'), `${name}.csv`);

  test('is one week from Monday 2026-01-05, in time order, runs of at most 4 hours', () => {
    expect(runs[0].at).toBeGreaterThanOrEqual(Date.UTC(2026, 0, 5));
    expect(runs[runs.length - 1].at).toBeLessThan(Date.UTC(2026, 0, 12));
    expect(Math.max(...runs.map((r) => r.durationSeconds))).toBeLessThanOrEqual(MAX_RUN_SECONDS);
  });

  test('uses exactly the groups and flows its trace lists', () => {
    const seen = new Set(runs.map((r) => `${r.group}/${r.flow}`));
    expect([...seen].sort()).toEqual(trace.groups.map((g) => `${g.group}/${g.flow}`).sort());
  });
});
