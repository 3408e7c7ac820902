/**
 * Reads job logs in the Standard Workload Format (SWF, version 2.2) of the Parallel Workloads
 * Archive, as its page "The Standard Workload Format" defines it: header comments `; Label: value`,
 * then one job per line, 18 whitespace-separated numbers, -1 where a value is unknown. Submit
 * times are seconds after the header's UnixStartTime; TimeZoneString names the site's zone.
 *
 * A bad log is rejected at its first bad line with an SwfError naming the source, the line, the
 * field, the value and the rule.
 */

/** The 18 fields of a job line, in order. */
export const SWF_FIELDS = [
  'job',
  'submitTime',
  'waitTime',
  'runTime',
  'allocatedProcessors',
  'averageCpuTime',
  'usedMemory',
  'requestedProcessors',
  'requestedTime',
  'requestedMemory',
  'status',
  'user',
  'group',
  'executable',
  'queue',
  'partition',
  'precedingJob',
  'thinkTime',
] as const;
export type SwfField = (typeof SWF_FIELDS)[number];

export type SwfJob = Readonly<Record<SwfField, number>> & {
  /** 1-based line number in the log. */
  readonly line: number;
  /** The line as written, for excerpts. */
  readonly text: string;
};

export interface SwfLog {
  /** The header's comment lines, as written, in order. */
  readonly headerLines: readonly string[];
  /** Epoch seconds of submit time 0 (UnixStartTime). */
  readonly unixStartTime: number;
  /** The site's IANA time zone (TimeZoneString). */
  readonly timeZone: string;
  /** Queue numbers and their names, from the `; Queue: N name` lines. */
  readonly queues: ReadonlyMap<number, string>;
  /** In the order of the log. */
  readonly jobs: readonly SwfJob[];
}

export class SwfError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${source} line ${line}: ${detail}`);
    this.name = 'SwfError';
  }
}

const NUMBER = /^-?\d+(\.\d+)?$/;
const HEADER = /^;\s*([A-Za-z]+):\s*(.*?)\s*$/;
const QUEUE = /^(-?\d+)\s+(\S.*)$/;

/** Parses a whole log; throws an SwfError at the first bad line. */
export function parseSwf(text: string, source = 'log'): SwfLog {
  const lines = text.split('\n');
  const headerLines: string[] = [];
  const labels = new Map<string, { value: string; line: number }>();
  const queues = new Map<number, string>();
  const jobs: SwfJob[] = [];
  lines.forEach((raw, i) => {
    const line = i + 1;
    const textLine = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (textLine.trim() === '') return;
    if (textLine.startsWith(';')) {
      if (jobs.length) throw new SwfError(source, line, 'is a header comment after the first job; SWF headers come before the jobs');
      headerLines.push(textLine);
      const m = HEADER.exec(textLine);
      if (!m) return;
      const [, label, value] = m;
      if (label === 'Queue') {
        const q = QUEUE.exec(value);
        if (!q) throw new SwfError(source, line, `Queue ${JSON.stringify(value)} is not a queue number and name, e.g. "; Queue: 1 development"`);
        queues.set(Number(q[1]), q[2].trim());
      } else if (!labels.has(label)) {
        labels.set(label, { value, line });
      }
      return;
    }
    const fields = textLine.trim().split(/\s+/);
    if (fields.length !== SWF_FIELDS.length) {
      throw new SwfError(source, line, `expected ${SWF_FIELDS.length} fields (${SWF_FIELDS.join(' ')}), found ${fields.length}`);
    }
    const job: Record<string, number> = {};
    fields.forEach((value, f) => {
      if (!NUMBER.test(value)) throw new SwfError(source, line, `field ${SWF_FIELDS[f]} ${JSON.stringify(value)} is not a number`);
      job[SWF_FIELDS[f]] = Number(value);
    });
    const previous = jobs[jobs.length - 1];
    if (previous && job.submitTime < previous.submitTime) {
      throw new SwfError(source, line, `field submitTime ${job.submitTime} is earlier than the previous job's (${previous.submitTime}, line ${previous.line}); SWF jobs are in submit order`);
    }
    jobs.push({ ...(job as Record<SwfField, number>), line, text: textLine });
  });
  const start = labels.get('UnixStartTime');
  if (!start || !/^\d+$/.test(start.value)) {
    throw new SwfError(source, start?.line ?? 1, `UnixStartTime ${JSON.stringify(start?.value ?? '')} is not a whole number of epoch seconds; the header must give it ("; UnixStartTime: 843480031")`);
  }
  const zone = labels.get('TimeZoneString');
  if (!zone || !isTimeZone(zone.value)) {
    throw new SwfError(source, zone?.line ?? 1, `TimeZoneString ${JSON.stringify(zone?.value ?? '')} is not an IANA time zone; the header must give the site's zone ("; TimeZoneString: Europe/Stockholm")`);
  }
  if (!jobs.length) throw new SwfError(source, lines.length, 'the log holds no jobs, only its header');
  return { headerLines, unixStartTime: Number(start.value), timeZone: zone.value, queues, jobs };
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * The wall-clock time in timeZone at epochSeconds, written as if it were UTC (epoch ms): local
 * 09:00 on a day becomes 09:00Z on that day.
 */
export function localWallClock(epochSeconds: number, timeZone: string): number {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, format);
  }
  const parts: Record<string, number> = {};
  for (const p of format.formatToParts(new Date(epochSeconds * 1000))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const fraction = epochSeconds * 1000 - Math.floor(epochSeconds) * 1000;
  return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second) + fraction;
}

/** A job's submit time on the site's wall clock (see localWallClock). */
export function localSubmitTime(log: SwfLog, job: SwfJob): number {
  return localWallClock(log.unixStartTime + job.submitTime, log.timeZone);
}

/** The Monday (YYYY-MM-DD) starting the local week a wall-clock time falls in. */
export function weekOf(wallClock: number): string {
  const day = new Date(wallClock);
  const sinceMonday = (day.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() - sinceMonday)).toISOString().slice(0, 10);
}

/** The local week, Monday to Sunday, in which the most jobs were submitted; the earliest such week on a tie. */
export function busiestWeek(log: SwfLog): { readonly week: string; readonly jobs: number } {
  const counts = new Map<string, number>();
  for (const job of log.jobs) {
    const week = weekOf(localSubmitTime(log, job));
    counts.set(week, (counts.get(week) ?? 0) + 1);
  }
  const [week, jobs] = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
  return { week, jobs };
}
