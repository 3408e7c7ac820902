/**
 * One synth measured in a fresh process: builds an app of N environment stacks (one per
 * geography) with M groups each, synthesizes it to a temp folder, and prints one JSON line with
 * the timings and the peak resident memory. Run by bench/synth.ts; not a user command.
 */
const started = process.hrtime.bigint();
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, TerraformVariable } from 'cdktf';
import { GEOGRAPHIES, HostedBotsStack } from '../index';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const stacks = arg('stacks', 1);
const groups = arg('groups', 1);
const loaded = process.hrtime.bigint();
// Under `cdktf synth` the CLI chooses the output folder.
const outdir = process.env.CDKTF_OUTDIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
const app = new App({ outdir, stackTraces: false });
for (let s = 0; s < stacks; s++) {
  const geography = GEOGRAPHIES[s % GEOGRAPHIES.length];
  const stack = new HostedBotsStack(app, `bots-${geography.toLowerCase()}-${s}`, {
    geography,
    environment: { name: `env${s}`, botCapacity: groups * 5 },
  });
  const password = new TerraformVariable(stack, 'bot_admin_password', { type: 'string', sensitive: true }).stringValue;
  for (let g = 0; g < groups; g++) {
    stack.environment.addGroup(`group-${g}`, {
      name: `group-${g}`,
      maxBots: 5,
      adminUsername: 'botadmin',
      adminPassword: password,
      flows: { nightly: { command: 'run.cmd', timeoutMinutes: 60 } },
    });
  }
}
const built = process.hrtime.bigint();
app.synth();
const done = process.hrtime.bigint();
const written = fs.readdirSync(path.join(outdir, 'stacks')).filter((s) => fs.existsSync(path.join(outdir, 'stacks', s, 'fleet.json'))).length;
if (!process.env.CDKTF_OUTDIR) fs.rmSync(outdir, { recursive: true, force: true });
const ms = (a: bigint, b: bigint) => Number(b - a) / 1e6;
console.log(
  JSON.stringify({
    stacks,
    groups,
    manifests: written,
    loadMs: ms(started, loaded),
    buildMs: ms(loaded, built),
    synthMs: ms(built, done),
    totalMs: ms(started, done),
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  }),
);
