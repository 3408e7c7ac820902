/**
 * `hosted-bots simulate`: the capacity planner. Simulates a trace of runs on the settings a fleet
 * manifest declares, with the runtime's own scaler, and prints the report and the what-if rows.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FleetManifest, parseManifest } from '../config/manifest';
import { fleetOf, neverStartedLine, REPORT_HEADER, reportRows, seconds, SUMMARY_HEADER, summaryRows, WHAT_IF_HEADER, whatIfRows } from '../sim/planner';
import { runPlannerInParallel } from '../sim/planner-pool';
import { BUILT_IN_PRICES, GroupPrice, HOURS_PER_MONTH, parsePriceTable, priceOf, PriceTable } from '../sim/prices';
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
  /** A price table (JSON) whose prices win over the built-in ones. */
  readonly prices?: string;
  /** Show progress on stderr even when it is not a terminal. @default only on a terminal */
  readonly progress?: boolean;
  /** Simulations run at once, in worker threads. @default defaultThreads() */
  readonly threads?: number;
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

export async function runSimulateCommand(options: SimulateCommandOptions): Promise<void> {
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
  const userPrices = options.prices !== undefined ? readPriceFile(options.prices) : undefined;
  const fleet = fleetOf(manifest);
  const flows = new Map(manifest.groups.map((g) => [g.name, Object.keys(g.flows)]));
  const trace = parseTrace(text, options.trace, (run) => {
    const known = flows.get(run.group);
    if (!known) return { column: 'group', detail: `"${run.group}" is not a group of ${options.manifest} (groups: ${[...flows.keys()].join(', ')})` };
    if (!known.includes(run.flow)) return { column: 'flow', detail: `"${run.flow}" is not a flow of group ${run.group} (flows: ${known.join(', ')})` };
    return undefined;
  });

  const env = manifest.environment;
  const prices = Object.fromEntries(manifest.groups.map((g) => [g.name, priceOf(g.vmSize, env.region, userPrices)]));
  const boot = { ...DEFAULT_BOOT, medianSeconds: options.bootMedianSeconds, sigma: options.bootSigma };
  // Progress goes to stderr, on a terminal or when asked for: never into a log or the JSON on stdout.
  const showProgress = options.progress || (err.isTTY === true && trace.length * (options.whatIf ? 10 : 1) >= PROGRESS_FROM_RUNS);
  const bar = showProgress ? new ProgressBar(err) : undefined;
  const started = Date.now();
  const result = await runPlannerInParallel(trace, fleet, {
    seed: options.seed,
    boot,
    whatIf: options.whatIf,
    prices,
    series: options.html !== undefined,
    threads: options.threads ?? defaultThreads(),
    onProgress: bar ? (s, l) => bar.update(s, l) : undefined,
  });
  bar?.done();

  const day = (t: number) => new Date(t).toISOString().slice(0, 16).replace('T', ' ');
  // The HTML page names files without their folders: it is shared, and a path says where it was made.
  const summary = (name: (file: string) => string) => [
    `Simulated ${trace.length.toLocaleString('en-US')} runs of ${name(options.trace)} (${day(trace[0].at)} to ${day(trace[trace.length - 1].at)} UTC) on environment ${env.name} (${env.region}): capacity ${env.botCapacity} bots, ${fleet.groups.length} groups.`,
    `Declared settings: ${manifest.groups
      .map((g, i) => {
        const f = fleet.groups[i];
        return `${g.name} maxBots ${f.maxBots}, committed ${f.committedBots}, standby ${f.scaling.standbyBots}, idle ${f.scaling.idleMinutes} min, predictive ${f.scaling.predictive ? 'on' : 'off'}, ${g.vmSize}`;
      })
      .join('; ')}.`,
    `Boots take a median of ${seconds(boot.medianSeconds)} (log-normal, sigma ${boot.sigma}); seed ${options.seed}.`,
    ...priceLines(manifest, prices, userPrices, name(options.prices ?? '')),
  ];
  const title = `Capacity plan: ${path.basename(options.trace)} on environment ${env.name}`;
  if (options.html !== undefined) writeHtml(options.html, { title, summary: summary((f) => path.basename(f)), result }, err);

  if (options.json) {
    out.write(
      `${JSON.stringify(
        {
          manifest: options.manifest,
          trace: options.trace,
          seed: options.seed,
          boot,
          prices: Object.fromEntries(manifest.groups.map((g) => [g.name, { vmSize: g.vmSize, region: env.region, ...(prices[g.name] ?? { perHour: null }) }])),
          summary: result.summary,
          declared: result.declared,
          figures: result.figures,
          whatIfs: result.whatIfs,
          tried: result.tried,
          notes: result.notes,
        },
        jsonNumbers,
        2,
      )}\n`,
    );
    return;
  }
  const s = result.summary;
  const lines = [
    ...summary((f) => f),
    '',
    `Per group, over a month of ${HOURS_PER_MONTH} hours (the trace's ${s.traceDays} day${s.traceDays === 1 ? '' : 's'} scaled up):`,
    '',
    ...formatTable(SUMMARY_HEADER, summaryRows(s)),
    '',
    `Over the trace (waits from arrival to a bot taking the run; bot-minutes of every VM, booting, idle, busy or being deleted):`,
    '',
    ...formatTable(REPORT_HEADER, reportRows(result.declared)),
    '',
  ];
  const never = neverStartedLine(result.declared, fleet);
  if (never) lines.push(never, '');
  if (options.whatIf) {
    if (result.whatIfs.length === 0) lines.push(`What if: none of the ${result.tried} one-setting changes tried moves the p95 wait, the bot-hours or the cost by more than 10%, or the runs that never start.`);
    else {
      lines.push(`What if: ${result.whatIfs.length} of ${result.tried} one-setting changes move the p95 wait, the bot-hours or the cost by more than 10%, or the runs that never start (bot-hours and cost per month):`, '');
      lines.push(...formatTable(WHAT_IF_HEADER, whatIfRows(result)));
    }
    for (const note of result.notes) lines.push('', note);
    lines.push('');
  }
  out.write(`${lines.join('\n').trimEnd()}\n`);
  // Timing goes to stderr, so the report itself is the same byte for byte on every run.
  err.write(`${1 + result.tried} simulations in ${formatDuration(Date.now() - started)}.\n`);
}

/**
 * One simulation per free core, up to 4: the what-ifs are independent, but on a machine whose
 * cores are busy (its load average near their number) threads only wait for each other, and one
 * thread is faster (BENCHMARKS.md, the planner section). Where the load average is not known
 * (Windows reports 0) every core counts as free.
 */
export function defaultThreads(cores = os.availableParallelism(), load = os.loadavg()[0]): number {
  return Math.max(1, Math.min(4, Math.round(cores - load)));
}

/** Reads --prices: a price table as runtime/sim/vm-prices.json holds it. */
function readPriceFile(file: string): PriceTable {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`--prices ${file} cannot be read: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`--prices ${file} is not JSON: ${(e as Error).message}`);
  }
  return parsePriceTable(raw, `--prices ${file}`);
}

/** Where each group's price comes from, in sentences; what to do when one has none. */
function priceLines(manifest: FleetManifest, prices: Record<string, GroupPrice | undefined>, user: PriceTable | undefined, userFile: string): string[] {
  const region = manifest.environment.region;
  const sizes = [...new Set(manifest.groups.map((g) => g.vmSize))];
  const lines: string[] = [];
  const from = (size: string) => prices[manifest.groups.find((g) => g.vmSize === size)!.name];
  const priced = sizes.filter((size) => from(size));
  if (priced.length > 0) {
    const said = priced.map((size) => {
      const p = from(size)!;
      return `${size} in ${region} at ${p.perHour} ${p.currency} a VM-hour (${p.from === 'user' ? `from ${userFile}` : `built-in table of ${BUILT_IN_PRICES.date}, unverified: see runtime/sim/vm-prices.json`})`;
    });
    lines.push(`Prices: ${said.join('; ')}. Pay-as-you-go Windows, VMs only (no disks or network).`);
  }
  const missing = sizes.filter((size) => !from(size));
  if (missing.length > 0) {
    const currencies = user && user.currency !== BUILT_IN_PRICES.currency ? ` (the built-in table, in ${BUILT_IN_PRICES.currency}, is not mixed with ${user.currency})` : '';
    lines.push(`No price for ${missing.map((size) => `${size} in ${region}`).join(', ')}${user ? ` in ${userFile}` : ' in the built-in table'}${currencies}: costs are left out. Give prices with --prices <file>, a JSON table as runtime/sim/vm-prices.json holds it.`);
  }
  return lines;
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

