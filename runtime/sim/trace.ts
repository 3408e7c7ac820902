/**
 * The workload trace format the run simulator replays: one CSV row per run submission.
 *
 *   at,group,flow,durationSeconds,priority
 *   2026-01-05T09:00:12Z,finance,invoice-entry,372,normal
 *
 * `at` is an ISO 8601 instant (written in UTC to the second; read with any explicit zone and
 * optional fractions), `durationSeconds` how long the run keeps a bot busy, and rows are in time
 * order. Fields never contain commas, so there is no quoting. A bad trace is rejected at its
 * first bad line with a TraceError naming the file, line, column, value and rule.
 */
import type { Priority } from '../domain/run';

export interface TraceRun {
  /** When the run is submitted, epoch ms UTC. */
  readonly at: number;
  readonly group: string;
  readonly flow: string;
  readonly durationSeconds: number;
  readonly priority: Priority;
}

export const TRACE_COLUMNS = ['at', 'group', 'flow', 'durationSeconds', 'priority'] as const;
export type TraceColumn = (typeof TRACE_COLUMNS)[number];
export const TRACE_HEADER = TRACE_COLUMNS.join(',');
export const MAX_DURATION_SECONDS = 86400;

/** The instants a four-digit ISO 8601 year can write. */
const FIRST_INSTANT = -62167219200000; // 0000-01-01T00:00:00Z
const END_INSTANT = 253402300800000; // 10000-01-01T00:00:00Z

const GROUP_PATTERN = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;
const GROUP_MAX_LENGTH = 40;
const FLOW_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DURATION_PATTERN = /^\d+(\.\d+)?$/;
/** Date, hours and minutes, optional seconds and fraction, then a zone (Z or ±hh:mm / ±hhmm). */
const INSTANT_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}:?\d{2})?$/;

export class TraceError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    detail: string,
    readonly column?: TraceColumn,
  ) {
    super(`${source} line ${line}${column ? `, column ${column}` : ''}: ${detail}`);
    this.name = 'TraceError';
  }
}

/** A further rule on each row, e.g. that its group exists: the problem, or undefined. */
export type TraceCheck = (run: TraceRun) => { readonly column: TraceColumn; readonly detail: string } | undefined;

/** Parses a whole trace; throws a TraceError for the first bad line, by the format or by `check`. */
export function parseTrace(text: string, source = 'trace', check?: TraceCheck): TraceRun[] {
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split('\n');
  const header = stripCr(lines[0]);
  if (header !== TRACE_HEADER) {
    const found = lines.length === 1 && header === '' ? 'the file is empty' : `found ${show(header)}`;
    throw new TraceError(source, 1, `expected the header "${TRACE_HEADER}", ${found}`);
  }
  const runs: TraceRun[] = [];
  let previous: { line: number; at: number; text: string } | undefined;
  for (let i = 1; i < lines.length; i++) {
    const raw = stripCr(lines[i]);
    if (raw.trim() === '') continue;
    const line = i + 1;
    const fields = raw.split(',');
    const quoted = fields.findIndex((f) => f.includes('"'));
    if (quoted >= 0) {
      const column = TRACE_COLUMNS[quoted];
      throw new TraceError(source, line, `${show(fields[quoted])} is quoted; trace fields are never quoted and contain no commas`, column);
    }
    if (fields.length !== TRACE_COLUMNS.length) {
      throw new TraceError(source, line, `expected ${TRACE_COLUMNS.length} fields (${TRACE_HEADER}), found ${fields.length}`);
    }
    const [atText, group, flow, durationText, priority] = fields;
    const fail = (column: TraceColumn, value: string, rule: string): never => {
      throw new TraceError(source, line, `${show(value)} ${rule}`, column);
    };
    const at = parseInstant(atText);
    if (typeof at === 'string') fail('at', atText, at);
    const time = at as number;
    if (previous && time < previous.at) {
      fail('at', atText, `is earlier than the previous row (line ${previous.line}, ${previous.text}); rows must be in time order`);
    }
    if (!isGroupName(group)) fail('group', group, `is not a group name (lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen, at most ${GROUP_MAX_LENGTH} characters)`);
    if (!FLOW_PATTERN.test(flow)) fail('flow', flow, 'is not a flow name (1-64 letters, digits, periods, underscores or hyphens, starting with a letter or digit)');
    const durationSeconds = DURATION_PATTERN.test(durationText) ? Number(durationText) : NaN;
    if (!(durationSeconds > 0 && durationSeconds <= MAX_DURATION_SECONDS)) {
      fail('durationSeconds', durationText, `is not a positive number of seconds (at most ${MAX_DURATION_SECONDS})`);
    }
    if (priority !== 'high' && priority !== 'normal') fail('priority', priority, 'is not a priority (high or normal)');
    const run: TraceRun = { at: time, group, flow, durationSeconds, priority: priority as Priority };
    const problem = check?.(run);
    if (problem) throw new TraceError(source, line, problem.detail, problem.column);
    runs.push(run);
    previous = { line, at: time, text: atText };
  }
  if (runs.length === 0) throw new TraceError(source, 1, 'the trace holds no runs, only the header');
  return runs;
}

/**
 * Writes runs as a trace: `at` in UTC to the second (fractions are dropped) and durations rounded
 * to whole seconds (at least 1). Throws for runs parseTrace would reject, including runs out of
 * time order, so what it writes always parses back.
 */
export function formatTrace(runs: readonly TraceRun[]): string {
  const out: string[] = [TRACE_HEADER];
  let previousAt = -Infinity;
  runs.forEach((run, i) => {
    const bad = (what: string): never => {
      throw new Error(`run ${i} (${JSON.stringify(run)}): ${what}`);
    };
    if (!(run.at >= FIRST_INSTANT && run.at < END_INSTANT)) bad('at is not a time from year 0000 to 9999');
    if (run.at < previousAt) bad('is earlier than the run before it; runs must be in time order');
    if (!isGroupName(run.group)) bad('group is not a group name');
    if (!FLOW_PATTERN.test(run.flow)) bad('flow is not a flow name');
    if (!(run.durationSeconds > 0 && run.durationSeconds <= MAX_DURATION_SECONDS)) bad(`durationSeconds is not in (0, ${MAX_DURATION_SECONDS}]`);
    if (run.priority !== 'high' && run.priority !== 'normal') bad('priority is not high or normal');
    previousAt = run.at;
    const at = new Date(Math.floor(run.at / 1000) * 1000).toISOString().replace('.000Z', 'Z');
    out.push(`${at},${run.group},${run.flow},${Math.max(1, Math.round(run.durationSeconds))},${run.priority}`);
  });
  return `${out.join('\n')}\n`;
}

function isGroupName(value: string): boolean {
  return value.length <= GROUP_MAX_LENGTH && GROUP_PATTERN.test(value);
}

/** Epoch ms, or the rule the text breaks. */
function parseInstant(text: string): number | string {
  const m = INSTANT_PATTERN.exec(text);
  if (!m) return 'is not an ISO 8601 time, e.g. 2026-01-05T09:00:12Z';
  const [, y, mo, d, h, mi, s = '0', fraction, zone] = m;
  if (!zone) return 'has no zone; write Z (UTC) or an offset such as +01:00, e.g. 2026-01-05T09:00:12Z';
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  const daysInMonth = new Date(utc(year, month, 0, 0, 0, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) {
    return 'is not a valid date and time';
  }
  let offsetMinutes = 0;
  if (zone !== 'Z') {
    const digits = zone.replace(':', '');
    const zoneHours = Number(digits.slice(1, 3));
    const zoneMinutes = Number(digits.slice(3, 5));
    if (zoneHours > 23 || zoneMinutes > 59) return 'has an invalid zone offset';
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (zoneHours * 60 + zoneMinutes);
  }
  const millis = fraction ? Math.round(Number(`0.${fraction}`) * 1000) : 0;
  return utc(year, month - 1, day, hour, minute, second) + millis - offsetMinutes * 60_000;
}

/** Date.UTC without its mapping of years 0-99 to 1900-1999. */
function utc(year: number, monthIndex: number, day: number, hour: number, minute: number, second: number): number {
  const date = new Date(Date.UTC(2000, 0, 1, hour, minute, second));
  date.setUTCFullYear(year, monthIndex, day);
  return date.getTime();
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** A value quoted for a message, cut short if long. */
function show(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}
