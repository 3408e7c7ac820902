/**
 * bench/traces: writes the workload traces the simulator benchmarks replay, one `<kind>.csv` per
 * workload with its default number of days. The committed files under bench/traces are the
 * output for seed 42; a test checks they still match the generator.
 *
 *   npm run build && node dist/bench/traces.js [--seed 42] [--out bench/traces]
 */
import * as fs from 'fs';
import * as path from 'path';
import { formatTrace } from '../runtime/sim/trace';
import { generateWorkload, WORKLOAD_DAYS, WORKLOAD_DESCRIPTIONS, WORKLOADS, type WorkloadKind } from '../runtime/sim/workloads';
import { runScript } from './report';

export const DEFAULT_SEED = 42;
/** bench/traces in the repository (this script runs from dist/bench). */
export const DEFAULT_TRACES_DIR = path.resolve(__dirname, '..', '..', 'bench', 'traces');

export interface WrittenTrace {
  readonly kind: WorkloadKind;
  readonly file: string;
  readonly runs: number;
}

/** Writes every workload's trace into dir (created if missing). */
export function writeTraces(dir: string, seed: number): WrittenTrace[] {
  fs.mkdirSync(dir, { recursive: true });
  return WORKLOADS.map((kind) => {
    const runs = generateWorkload(kind, { seed });
    const file = path.join(dir, `${kind}.csv`);
    fs.writeFileSync(file, formatTrace(runs));
    return { kind, file, runs: runs.length };
  });
}

const HELP = `Usage: node dist/bench/traces.js [--seed N] [--out DIR]

Writes one workload trace per kind as DIR/<kind>.csv (header at,group,flow,durationSeconds,priority).

  --seed N    seed for the generator, an integer from 0 to 4294967295 (default ${DEFAULT_SEED})
  --out DIR   where to write (default bench/traces in the repository)
  --help      show this text

Workloads:
${WORKLOADS.map((kind) => `  ${kind.padEnd(13)} ${WORKLOAD_DAYS[kind]} days. ${WORKLOAD_DESCRIPTIONS[kind]}`).join('\n')}
`;

function main(args: readonly string[]): void {
  let seed = DEFAULT_SEED;
  let dir = DEFAULT_TRACES_DIR;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(HELP);
      return;
    }
    const value = args[i + 1];
    if ((arg === '--seed' || arg === '--out') && value === undefined) throw new Error(`${arg} needs a value; see --help`);
    if (arg === '--seed') {
      seed = Number(value);
      if (!/^\d+$/.test(value) || seed > 0xffffffff) throw new Error(`--seed takes an integer from 0 to 4294967295, got "${value}"`);
      i++;
    } else if (arg === '--out') {
      dir = path.resolve(value);
      i++;
    } else {
      throw new Error(`unknown argument "${arg}"; see --help`);
    }
  }
  for (const t of writeTraces(dir, seed)) console.log(`${t.file}: ${t.runs} runs`);
}

if (require.main === module) runScript(main);
