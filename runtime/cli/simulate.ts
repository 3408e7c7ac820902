/**
 * `hosted-bots simulate`: the capacity planner. Simulates a trace of runs on the settings a fleet
 * manifest declares, with the runtime's own scaler, and prints the report and the what-if rows.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseManifest } from '../config/manifest';
import { fleetOf, neverStartedLine, REPORT_HEADER, reportRows, runPlanner, seconds, WHAT_IF_HEADER, whatIfRows } from '../sim/planner';
import { DEFAULT_BOOT } from '../sim/simulate';
import { parseTrace } from '../sim/trace';
import { reportPage, ReportPageInput } from './report-html';
import { formatDuration, formatTable, Output } from './terminal';

export interface SimulateCommandOptions {
  readonly manifest: string;
  readonly trace: string;
  readonly seed: number;
  readonly bootMedianSeconds: number;
  readonly bootSigma: number;
  readonly whatIf: boolean;
  readonly json: boolean;
  /** Also write the report as one self-contained HTML page with charts, to this file. */
  readonly html?: string;
  readonly out?: Output;
  readonly err?: Output;
}

/** Traces at least this long (in runs, over all simulations) get a progress bar. */
const PROGRESS_FROM_RUNS = 2000;

/** A bar rewritten in place on a terminal; in a log, one line per quarter. */
export class ProgressBar {
  private lastQuarter = -1;
  private lastDraw = 0;
  constructor(private readonly out: Output) {}

  update(share: number, label: string): void {
    const pct = Math.floor(share * 100);
    if (this.out.isTTY) {
      const now = Date.now();
      if (now - this.lastDraw < 100 && share < 1) return;
      this.lastDraw = now;
      const width = 30;
      const filled = Math.round(share * width);
      this.out.write(`\r\x1b[2Ksimulating [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}%  ${label}`);
    } else {
      const quarter = Math.floor(share * 4);
      if (quarter > this.lastQuarter) {
        this.lastQuarter = quarter;
        this.out.write(`simulating: ${quarter * 25}%\n`);
      }
    }
  }

  done(): void {
    if (this.out.isTTY) this.out.write('\r\x1b[2K');
  }
}

export function runSimulateCommand(options: SimulateCommandOptions): void {
  const out = options.out ?? process.stdout;
  const err = options.err ?? process.stderr;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(options.manifest, 'utf8'));
  } catch (e) {
    throw new Error(`--manifest ${options.manifest} cannot be read as JSON: ${(e as Error).message}`);
  }
  // A synthesized manifest still holds apply-time values (subscription IDs); the simulation needs none.
  const manifest = parseManifest(raw, { source: options.manifest, requireResolved: false });
  let text: string;
  try {
    text = fs.readFileSync(options.trace, 'utf8');
  } catch (e) {
    throw new Error(`--trace ${options.trace} cannot be read: ${(e as Error).message}`);
  }
  const fleet = fleetOf(manifest);
  const flows = new Map(manifest.groups.map((g) => [g.name, Object.keys(g.flows)]));
  const trace = parseTrace(text, options.trace, (run) => {
    const known = flows.get(run.group);
    if (!known) return { column: 'group', detail: `"${run.group}" is not a group of ${options.manifest} (groups: ${[...flows.keys()].join(', ')})` };
    if (!known.includes(run.flow)) return { column: 'flow', detail: `"${run.flow}" is not a flow of group ${run.group} (flows: ${known.join(', ')})` };
    return undefined;
  });

  const boot = { ...DEFAULT_BOOT, medianSeconds: options.bootMedianSeconds, sigma: options.bootSigma };
  const bar = trace.length * (options.whatIf ? 10 : 1) >= PROGRESS_FROM_RUNS && !options.json ? new ProgressBar(err) : undefined;
  const started = Date.now();
  const result = runPlanner(trace, fleet, { seed: options.seed, boot, whatIf: options.whatIf, series: options.html !== undefined, onProgress: bar ? (s, l) => bar.update(s, l) : undefined });
  bar?.done();

  if (options.json) {
    if (options.html !== undefined) writeHtml(options.html, { title: `Capacity plan: ${path.basename(options.trace)} on environment ${manifest.environment.name}`, summary: [], result }, err);
    out.write(`${JSON.stringify({ manifest: options.manifest, trace: options.trace, seed: options.seed, boot, declared: result.declared, whatIfs: result.whatIfs, tried: result.tried }, jsonNumbers, 2)}\n`);
    return;
  }
  const env = manifest.environment;
  const day = (t: number) => new Date(t).toISOString().slice(0, 16).replace('T', ' ');
  const summary = [
    `Simulated ${trace.length.toLocaleString('en-US')} runs of ${options.trace} (${day(trace[0].at)} to ${day(trace[trace.length - 1].at)} UTC) on environment ${env.name}: capacity ${env.botCapacity} bots, ${fleet.groups.length} groups.`,
    `Declared settings: ${fleet.groups
      .map((g) => `${g.name} maxBots ${g.maxBots}, committed ${g.committedBots}, standby ${g.scaling.standbyBots}, idle ${g.scaling.idleMinutes} min, predictive ${g.scaling.predictive ? 'on' : 'off'}`)
      .join('; ')}.`,
    `Boots take a median of ${seconds(boot.medianSeconds)} (log-normal, sigma ${boot.sigma}); seed ${options.seed}.`,
  ];
  if (options.html !== undefined) writeHtml(options.html, { title: `Capacity plan: ${path.basename(options.trace)} on environment ${env.name}`, summary, result }, err);
  const lines = [
    ...summary,
    '',
    ...formatTable(REPORT_HEADER, reportRows(result.declared)),
    '',
  ];
  const never = neverStartedLine(result.declared, fleet);
  if (never) lines.push(never, '');
  if (options.whatIf) {
    if (result.whatIfs.length === 0) lines.push(`What if: none of the ${result.tried} one-setting changes tried moves the p95 wait or the bot-hours by more than 10%.`);
    else {
      lines.push(`What if: ${result.whatIfs.length} of ${result.tried} one-setting changes move the p95 wait or the bot-hours by more than 10%:`, '');
      lines.push(...formatTable(WHAT_IF_HEADER, whatIfRows(result.whatIfs, result.declared)));
    }
    lines.push('');
  }
  out.write(`${lines.join('\n').trimEnd()}\n`);
  // Timing goes to stderr, so the report itself is the same byte for byte on every run.
  err.write(`${1 + result.tried} simulations in ${formatDuration(Date.now() - started)}.\n`);
}

/** Writes the HTML report; it says where on stderr, as the progress goes, so stdout stays the text report. */
function writeHtml(file: string, input: ReportPageInput, err: Output): void {
  const page = reportPage(input);
  try {
    fs.writeFileSync(file, page);
  } catch (e) {
    throw new Error(`--html ${file} cannot be written: ${(e as Error).message}`);
  }
  err.write(`HTML report written to ${file} (${Math.round(page.length / 1024)} KiB).\n`);
}

function jsonNumbers(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isInteger(value) && Number.isFinite(value)) return Math.round(value * 1000) / 1000;
  if (value === Number.POSITIVE_INFINITY) return 'Infinity';
  return value;
}

