/**
 * What the deployer commands print: aligned tables, durations, and one progress line that is
 * rewritten in place on a terminal and printed once per step in a CI log.
 */

/** Rows padded into columns two spaces apart; the last column is not padded. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ').trimEnd());
}

export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

export function stripAnsi(text: string): string {
  // ANSI escape sequences: CSI (colours, cursor moves) and OSC (titles, links), ended by BEL.
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07/g, '');
}

export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/**
 * A step's progress. On a terminal one line shows the step, its elapsed time and the tool's
 * latest line; in a log (no TTY) only the start and the end are printed, so CI logs stay short.
 */
export class ProgressLine {
  private latest = '';
  private readonly started = Date.now();
  private readonly timer?: NodeJS.Timeout;

  constructor(
    private readonly out: Output,
    private readonly label: string,
  ) {
    if (out.isTTY) {
      this.timer = setInterval(() => this.draw(), 1000);
      this.timer.unref();
      this.draw();
    } else {
      out.write(`${label} ...\n`);
    }
  }

  get elapsedMs(): number {
    return Date.now() - this.started;
  }

  update(line: string): void {
    const text = line.trim();
    if (!text) return;
    this.latest = text;
    if (this.out.isTTY) this.draw();
  }

  /** Ends the step with its final line. */
  done(line: string): void {
    if (this.timer) clearInterval(this.timer);
    if (this.out.isTTY) this.out.write('\r\x1b[2K');
    this.out.write(`${line}\n`);
  }

  private draw(): void {
    const width = Math.max(20, (this.out.columns || 100) - 1);
    const text = `${this.label} ${formatDuration(this.elapsedMs)}${this.latest ? `  ${this.latest}` : ''}`;
    this.out.write(`\r\x1b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
  }
}

/**
 * A status block that is printed only when it changes. A watcher polls far more often than the
 * state changes; reprinting an unchanged block buries what changed (and, in a CI log, fills it).
 * The block must be a pure function of the state (no clocks, no ages) so that "unchanged" is an
 * exact comparison. On a terminal a changed block is redrawn in place; in a log it is appended,
 * after the optional `stamp` line (e.g. the elapsed time), which is not part of the comparison.
 */
export class BlockPrinter {
  private last: string | undefined;
  private drawn = 0;

  constructor(private readonly out: Output) {}

  /** Prints the block if it differs from the last one printed; says whether it printed. */
  show(lines: readonly string[], stamp?: string): boolean {
    const text = lines.join('\n');
    if (text === this.last) return false;
    this.last = text;
    if (this.out.isTTY) {
      if (this.drawn) this.out.write(`\x1b[${this.drawn}A`);
      for (const line of lines) this.out.write(`\x1b[2K${line}\n`);
      this.drawn = lines.length;
    } else {
      this.out.write(`${stamp === undefined ? '' : `${stamp}\n`}${text}\n`);
    }
    return true;
  }

  /** A line below the block; the next changed block is printed under it rather than over it. */
  note(line: string): void {
    this.out.write(`${line}\n`);
    this.drawn = 0;
  }
}
