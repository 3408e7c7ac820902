/**
 * bench/real-traces: converts real-world job logs into workload traces for the simulator
 * benchmarks, one `<name>.csv` in bench/traces per log, beside the synthetic ones.
 *
 * Each log is a cleaned log of the Parallel Workloads Archive, in its Standard Workload Format
 * (bench/swf.ts). The conversion reads an excerpt of the log, its header and the jobs of one week,
 * which is not redistributed here: the logs stay with their archive and the copy cited below,
 * and only the converted traces are committed. Fetch a whole log from its source, write its
 * excerpt with `--extract` (into ../shared/real-traces beside the checkout by default, or
 * `--sources DIR`), and `--check` converts the excerpts again and compares the result with the
 * committed traces, byte for byte. Logs and excerpts are checked against the SHA-256 recorded below
 * before anything is converted.
 *
 * The mapping, the same for every log:
 * - the week: the Monday-to-Sunday week, on the site's wall clock, in which the most jobs were
 *   submitted (busiestWeek; `--extract` checks that it is the week recorded below);
 * - time: each job's submit time on the site's wall clock (its TimeZoneString), moved by whole
 *   days so that the week starts on Monday 2026-01-05 00:00 UTC, as the synthetic traces do: a job
 *   submitted at 09:12 local on the Tuesday arrives at 2026-01-06T09:12Z;
 * - one run per job, whatever its processor count: a run keeps one bot;
 * - run length: the job's run time, at least 1 s (a job that ran 0 s still took a bot for a
 *   moment) and at most MAX_RUN_SECONDS, the time-out of every flow in the bench fleets of these
 *   traces; jobs with no run time (-1) are left out;
 * - group and flow: by a rule of each log, below;
 * - priority: normal; the logs carry none.
 *
 *   npm run build && node dist/bench/real-traces.js [--sources DIR] [--out DIR]
 *   npm run build && node dist/bench/real-traces.js --extract LOG.swf[.gz] --trace NAME [--sources DIR]
 *   npm run build && node dist/bench/real-traces.js --check [--sources DIR]
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { gunzipSync } from 'zlib';
import { formatTrace, type TraceRun } from '../runtime/sim/trace';
import { DEFAULT_WORKLOAD_START } from '../runtime/sim/workloads';
import { busiestWeek, localSubmitTime, parseSwf, type SwfJob, type SwfLog } from './swf';
import { runScript } from './report';

/** The longest run, seconds: the time-out of every flow in these traces' bench fleets (240 minutes). */
export const MAX_RUN_SECONDS = 4 * 3600;

/** The excerpts' folder: ../shared/real-traces beside the checkout (this script runs from dist/bench). */
export const DEFAULT_SOURCES_DIR = path.resolve(__dirname, '..', '..', '..', 'shared', 'real-traces');
/** bench/traces in the repository. */
export const DEFAULT_TRACES_DIR = path.resolve(__dirname, '..', '..', 'bench', 'traces');

export type RealTraceName = 'kth-sp2' | 'lanl-cm5';
export const REAL_TRACE_NAMES: readonly RealTraceName[] = ['kth-sp2', 'lanl-cm5'];

export interface RealTrace {
  readonly name: RealTraceName;
  /** The log's name in the archive. */
  readonly log: string;
  /** The Monday (site's wall clock) starting the week converted: the log's busiest week. */
  readonly week: string;
  /** One line for the benchmark's section: what the trace is and how its groups were formed. */
  readonly description: string;
  readonly citation: string;
  readonly licence: string;
  /** Where the whole log was taken from; sha256 is that of the uncompressed log. */
  readonly source: { readonly repository: string; readonly path: string; readonly commit: string; readonly sha256: string };
  /** The excerpt the conversion reads, in the sources folder. */
  readonly excerpt: { readonly file: string; readonly sha256: string };
  /** Every group the trace's runs use, with its one flow. */
  readonly groups: ReadonlyArray<{ readonly group: string; readonly flow: string }>;
  /** The group a job's run belongs to. */
  readonly groupOf: (job: SwfJob, log: SwfLog) => string;
}

const ARCHIVE = 'Parallel Workloads Archive (http://www.cs.huji.ac.il/labs/parallel/workload/)';
const ARCHIVE_PAPER = 'D. G. Feitelson, D. Tsafrir and D. Krakov, "Experience with using the Parallel Workloads Archive", Journal of Parallel and Distributed Computing 74(10), pp. 2967-2982, 2014';
const licence = (acknowledge: string) =>
  `No licence is attached to the log. The ${ARCHIVE} makes its logs freely available for research and asks users to name the archive as the source and to cite ${ARCHIVE_PAPER}; the log's header asks to acknowledge ${acknowledge}, who provided it.`;
/** Where both logs were copied from: a public repository that keeps the archive's files unchanged. */
const MIRROR = { repository: 'SeriousCorgi/CloudSim-Plus-Deadline-Awareness', commit: 'f85f2f15e6c5c4a7e46b8c0a64f514f52d236fc6' };

/** KTH: a job that asked for at most an hour is "short", any other (or one that asked for nothing) "long". */
function kthGroup(job: SwfJob): string {
  return job.requestedTime > 0 && job.requestedTime <= 3600 ? 'short' : 'long';
}

/**
 * LANL: by the name of the job's queue in the header. Queues named for interactive or development
 * work (interactive, development, scavenge_development, developer, dev_long...) are
 * "development", those named for production (production, prod_small, scavenge_production...)
 * "production", and every other queue, or none, "other".
 */
function lanlGroup(job: SwfJob, log: SwfLog): string {
  const name = log.queues.get(job.queue) ?? '';
  if (/interactive|dev/i.test(name)) return 'development';
  if (/prod/i.test(name)) return 'production';
  return 'other';
}

export const REAL_TRACES: Readonly<Record<RealTraceName, RealTrace>> = {
  'kth-sp2': {
    name: 'kth-sp2',
    log: 'KTH-SP2-1996-2.1-cln',
    week: '1997-05-12',
    description:
      'A real week: the busiest week (Monday 12 to Sunday 18 May 1997, Stockholm time) of the job log of the 100-node IBM SP2 at the Swedish Royal Institute of Technology (KTH-SP2-1996-2.1-cln, Parallel Workloads Archive), one run per job: jobs that asked for at most an hour are group short, the others long; run lengths are the jobs\' run times, at most 4 hours.',
    citation: `KTH SP2 log, KTH-SP2-1996-2.1-cln, ${ARCHIVE}, provided by Lars Malinowsky (KTH); ${ARCHIVE_PAPER}.`,
    licence: licence('Lars Malinowsky'),
    source: { ...MIRROR, path: 'cloudsim-plus-examples/src/main/resources/workload/swf/KTH-SP2-1996-2.1-cln.swf.gz', sha256: 'fba36494c4e4257f72182e8b629ebb0bcb054b3b82851ef957445bd627adcc87' },
    excerpt: { file: 'KTH-SP2-1996-2.1-cln.week-1997-05-12.swf', sha256: '3a3b8e471b0b1972628c5e8eab019cb9dd458059f4bef1bdce89da62d090720a' },
    groups: [
      { group: 'short', flow: 'short-job' },
      { group: 'long', flow: 'long-job' },
    ],
    groupOf: kthGroup,
  },
  'lanl-cm5': {
    name: 'lanl-cm5',
    log: 'LANL-CM5-1994-4.1-cln',
    week: '1995-03-27',
    description:
      'A real week: the busiest week (Monday 27 March to Sunday 2 April 1995, Mountain time) of the job log of the 1,024-node Thinking Machines CM-5 at Los Alamos National Lab (LANL-CM5-1994-4.1-cln, Parallel Workloads Archive), one run per job, grouped by the job\'s queue: interactive and development queues, production queues, and the rest (other); run lengths are the jobs\' run times, at most 4 hours. Two users\' bursts of several hundred jobs on Thursday and Friday make its days very unequal.',
    citation: `LANL CM-5 log, LANL-CM5-1994-4.1-cln, ${ARCHIVE}, provided by Curt Canada (LANL); ${ARCHIVE_PAPER}.`,
    licence: licence('Curt Canada'),
    source: { ...MIRROR, path: 'cloudsim-plus-examples/src/main/resources/workload/swf/LANL-CM5-1994-4.1-cln.swf.gz', sha256: '4766a62dabcc7403ec0a55534aff297203e692ddbf6637bd40100a3800f6354a' },
    excerpt: { file: 'LANL-CM5-1994-4.1-cln.week-1995-03-27.swf', sha256: '00cdf3bf19eb1e58d68b61934ad65c9952e46848a311fad1c1fe9d6675fb6b51' },
    groups: [
      { group: 'development', flow: 'dev-job' },
      { group: 'production', flow: 'prod-job' },
      { group: 'other', flow: 'other-job' },
    ],
    groupOf: lanlGroup,
  },
};

const DAY_MS = 86_400_000;

/** The week's bounds on the site's wall clock (see localWallClock), epoch ms. */
function weekBounds(trace: RealTrace): { readonly from: number; readonly to: number } {
  const from = Date.parse(`${trace.week}T00:00:00Z`);
  return { from, to: from + 7 * DAY_MS };
}

/** The log's jobs submitted in the trace's week, with their wall-clock submit times. */
function jobsOfWeek(trace: RealTrace, log: SwfLog): Array<{ readonly job: SwfJob; readonly local: number }> {
  const { from, to } = weekBounds(trace);
  return log.jobs.map((job) => ({ job, local: localSubmitTime(log, job) })).filter((j) => j.local >= from && j.local < to);
}

export interface Conversion {
  readonly runs: TraceRun[];
  /** Jobs of the week left out because the log has no run time for them. */
  readonly withoutRunTime: number;
  /** Runs cut to MAX_RUN_SECONDS. */
  readonly cut: number;
}

/** The trace of a log's week, by the mapping at the top of this file. Pure: the same log gives the same runs. */
export function convertLog(trace: RealTrace, log: SwfLog): Conversion {
  const { from } = weekBounds(trace);
  const flows = new Map(trace.groups.map((g) => [g.group, g.flow]));
  let withoutRunTime = 0;
  let cut = 0;
  const runs: Array<TraceRun & { readonly job: number }> = [];
  for (const { job, local } of jobsOfWeek(trace, log)) {
    if (job.runTime < 0) {
      withoutRunTime++;
      continue;
    }
    const group = trace.groupOf(job, log);
    const flow = flows.get(group);
    if (!flow) throw new Error(`${trace.name}: job ${job.job} (line ${job.line}) maps to group "${group}", which is not among the trace's groups (${[...flows.keys()].join(', ')})`);
    if (job.runTime > MAX_RUN_SECONDS) cut++;
    const durationSeconds = Math.min(MAX_RUN_SECONDS, Math.max(1, Math.round(job.runTime)));
    runs.push({ at: DEFAULT_WORKLOAD_START + (local - from), group, flow, durationSeconds, priority: 'normal', job: job.job });
  }
  // Wall-clock times step back an hour when summer time ends: keep the runs in time order, then in log order.
  runs.sort((a, b) => a.at - b.at || a.job - b.job);
  return { runs: runs.map(({ job: _job, ...run }) => run), withoutRunTime, cut };
}

/** The excerpt of a log the conversion reads: the header's lines and the lines of the week's jobs, as written. */
export function excerptOf(trace: RealTrace, log: SwfLog): string {
  return `${[...log.headerLines, ...jobsOfWeek(trace, log).map((j) => j.job.text)].join('\n')}\n`;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** A log's text from a file, uncompressed when it ends in .gz. */
export function readLogText(file: string): string {
  const bytes = fs.readFileSync(file);
  return (file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
}

/**
 * Parses the log of a trace from its text, which must be the excerpt or the whole log recorded
 * for it (by SHA-256), so a trace is never made from another version of the log.
 */
export function parseRecordedLog(trace: RealTrace, text: string, source: string, accept: ReadonlyArray<'excerpt' | 'log'> = ['excerpt', 'log']): SwfLog {
  const digest = sha256(text);
  const expected = { excerpt: trace.excerpt.sha256, log: trace.source.sha256 };
  if (!accept.some((kind) => expected[kind] === digest)) {
    const wanted = accept.map((kind) => `${kind === 'excerpt' ? `the excerpt ${trace.excerpt.file}` : `the whole log ${trace.log}.swf`} (${expected[kind]})`).join(' or ');
    throw new Error(`${source}: SHA-256 ${digest} is not that of ${wanted}; ${trace.name} is converted only from the recorded file`);
  }
  return parseSwf(text, source);
}

export interface WrittenRealTrace {
  readonly name: RealTraceName;
  readonly file: string;
  readonly runs: number;
  readonly withoutRunTime: number;
  readonly cut: number;
}

/** Converts the real traces named (every one by default) from their excerpts in sourcesDir into outDir/<name>.csv. */
export function writeRealTraces(
  sourcesDir: string,
  outDir: string,
  names: readonly RealTraceName[] = REAL_TRACE_NAMES,
  registry: Readonly<Record<RealTraceName, RealTrace>> = REAL_TRACES,
): WrittenRealTrace[] {
  fs.mkdirSync(outDir, { recursive: true });
  return names.map((name) => {
    const trace = registry[name];
    const source = path.join(sourcesDir, trace.excerpt.file);
    if (!fs.existsSync(source)) {
      throw new Error(`${source} does not exist: ${name} is converted from the excerpt ${trace.excerpt.file}; write it with --extract from the whole log ${trace.log} (${trace.source.repository}, ${trace.source.path} at ${trace.source.commit})`);
    }
    const conversion = convertLog(trace, parseRecordedLog(trace, readLogText(source), source, ['excerpt']));
    const file = path.join(outDir, `${name}.csv`);
    fs.writeFileSync(file, formatTrace(conversion.runs));
    return { name, file, runs: conversion.runs.length, withoutRunTime: conversion.withoutRunTime, cut: conversion.cut };
  });
}

/**
 * Converts the excerpts again and compares each result with the trace in `tracesDir`: the names
 * of the traces whose committed CSV differs from its conversion (none when all match).
 */
export function checkRealTraces(
  sourcesDir: string,
  tracesDir: string,
  names: readonly RealTraceName[] = REAL_TRACE_NAMES,
  registry: Readonly<Record<RealTraceName, RealTrace>> = REAL_TRACES,
): RealTraceName[] {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'real-traces-check-'));
  try {
    return writeRealTraces(sourcesDir, scratch, names, registry)
      .filter((t) => {
        const committed = path.join(tracesDir, `${t.name}.csv`);
        return !fs.existsSync(committed) || fs.readFileSync(committed, 'utf8') !== fs.readFileSync(t.file, 'utf8');
      })
      .map((t) => t.name);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Writes the excerpt of a trace from its whole log, checking that the recorded week is still the busiest. */
export function extractExcerpt(
  name: RealTraceName,
  logFile: string,
  sourcesDir: string,
  registry: Readonly<Record<RealTraceName, RealTrace>> = REAL_TRACES,
): { readonly file: string; readonly jobs: number } {
  const trace = registry[name];
  const log = parseRecordedLog(trace, readLogText(logFile), logFile, ['log']);
  const busiest = busiestWeek(log);
  if (busiest.week !== trace.week) throw new Error(`${logFile}: the busiest week is ${busiest.week} (${busiest.jobs} jobs), not the recorded ${trace.week}`);
  fs.mkdirSync(sourcesDir, { recursive: true });
  const file = path.join(sourcesDir, trace.excerpt.file);
  fs.writeFileSync(file, excerptOf(trace, log));
  return { file, jobs: busiest.jobs };
}

const HELP = `Usage: node dist/bench/real-traces.js [--sources DIR] [--out DIR] [--trace NAME]
       node dist/bench/real-traces.js --extract LOG --trace NAME [--sources DIR]
       node dist/bench/real-traces.js --check [--sources DIR] [--trace NAME]

Converts real-world job logs (Parallel Workloads Archive, Standard Workload Format) into workload
traces DIR/<name>.csv (header at,group,flow,durationSeconds,priority). Each trace is converted from
an excerpt of its log, the header and one week's jobs, checked by its SHA-256.

  --sources DIR   where the excerpts are (default ../shared/real-traces beside the checkout)
  --out DIR       where to write the traces (default bench/traces in the repository)
  --trace NAME    convert (or extract) only this trace; repeat for more
  --extract LOG   write the excerpt of trace NAME into the sources folder from its whole log
                  (.swf or .swf.gz, checked by its SHA-256) instead of converting
  --check         convert the excerpts again and compare with the committed traces (exit 1 when
                  one differs); the logs are not redistributed here: fetch them from their source
  --help          show this text

Traces:
${REAL_TRACE_NAMES.map((name) => `  ${name.padEnd(9)} from ${REAL_TRACES[name].log}, the week of ${REAL_TRACES[name].week}`).join('\n')}
`;

export interface RealTracesArgs {
  readonly help: boolean;
  readonly sources: string;
  readonly out: string;
  readonly traces: readonly RealTraceName[];
  readonly extract?: string;
  readonly check: boolean;
}

export function parseRealTracesArgs(args: readonly string[]): RealTracesArgs {
  let sources = DEFAULT_SOURCES_DIR;
  let out = DEFAULT_TRACES_DIR;
  let extract: string | undefined;
  let check = false;
  const traces: RealTraceName[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--help' || arg === '-h') return { help: true, sources, out, traces: REAL_TRACE_NAMES, check };
    if (arg === '--check') {
      check = true;
      continue;
    }
    const value = args[i + 1];
    if (!['--sources', '--out', '--trace', '--extract'].includes(arg)) throw new Error(`unknown argument "${arg}"; see --help`);
    if (value === undefined) throw new Error(`${arg} needs a value; see --help`);
    i++;
    if (arg === '--sources') sources = path.resolve(value);
    else if (arg === '--out') out = path.resolve(value);
    else if (arg === '--extract') extract = path.resolve(value);
    else if ((REAL_TRACE_NAMES as readonly string[]).includes(value)) traces.push(value as RealTraceName);
    else throw new Error(`--trace "${value}" is not a real trace; the traces are ${REAL_TRACE_NAMES.join(', ')}`);
  }
  if (extract && traces.length !== 1) throw new Error('--extract needs exactly one --trace NAME: the trace whose whole log LOG is');
  if (extract && check) throw new Error('--extract and --check go apart: write the excerpt first, then check');
  return { help: false, sources, out, traces: traces.length ? traces : REAL_TRACE_NAMES, extract, check };
}

function main(argv: readonly string[]): void {
  const args = parseRealTracesArgs(argv);
  if (args.help) {
    process.stdout.write(HELP);
    return;
  }
  if (args.extract) {
    const { file, jobs } = extractExcerpt(args.traces[0], args.extract, args.sources);
    console.log(`${file}: ${jobs} jobs, SHA-256 ${sha256(fs.readFileSync(file, 'utf8'))}`);
    return;
  }
  if (args.check) {
    const differ = checkRealTraces(args.sources, args.out, args.traces);
    if (differ.length > 0) throw new Error(`${differ.map((n) => `${n}.csv`).join(', ')} in ${args.out} differ from the conversion of their excerpts; regenerate with node dist/bench/real-traces.js`);
    console.log(`${args.traces.map((n) => `${n}.csv`).join(', ')}: the committed traces are the conversion of their excerpts, byte for byte`);
    return;
  }
  for (const t of writeRealTraces(args.sources, args.out, args.traces)) {
    console.log(`${t.file}: ${t.runs} runs (${t.withoutRunTime} jobs without a run time left out, ${t.cut} runs cut to ${MAX_RUN_SECONDS / 3600} hours)`);
  }
}

if (require.main === module) runScript(main);
