/** A synth output built beside the output folder, and put in its place only on success. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createStagingFolder, discardStagingFolder, replaceWithStaged } from '../../../runtime/cli/staged-output';

let home: string;
let outdir: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'staged-output-'));
  outdir = path.join(home, 'cdktf.out');
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

const write = (file: string, text: string) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
};
const read = (file: string) => fs.readFileSync(file, 'utf8');

test('the staging folder is a new, hidden folder beside the output folder, named after it', () => {
  const staged = createStagingFolder(outdir);
  expect(path.dirname(staged)).toBe(home);
  expect(path.basename(staged)).toMatch(/^\.cdktf\.out\.next-\w+$/);
  expect(fs.readdirSync(staged)).toEqual([]);
  expect(fs.existsSync(outdir)).toBe(false);
});

test('without a previous output, the staged one becomes the output', () => {
  const staged = createStagingFolder(outdir);
  write(path.join(staged, 'stacks', 'prod', 'cdk.tf.json'), 'new');
  replaceWithStaged(staged, outdir);
  expect(read(path.join(outdir, 'stacks', 'prod', 'cdk.tf.json'))).toBe('new');
  expect(fs.readdirSync(home)).toEqual(['cdktf.out']);
});

test("the staged output replaces the previous one; each stack's providers and lock file move over, nothing else of the old one stays", () => {
  write(path.join(outdir, 'stacks', 'prod', 'cdk.tf.json'), 'old');
  write(path.join(outdir, 'stacks', 'prod', '.terraform', 'providers', 'marker'), 'installed');
  write(path.join(outdir, 'stacks', 'prod', '.terraform.lock.hcl'), 'lock');
  write(path.join(outdir, 'stacks', 'gone', 'cdk.tf.json'), 'a stack the app no longer has');
  const staged = createStagingFolder(outdir);
  write(path.join(staged, 'stacks', 'prod', 'cdk.tf.json'), 'new');
  replaceWithStaged(staged, outdir);
  expect(read(path.join(outdir, 'stacks', 'prod', 'cdk.tf.json'))).toBe('new');
  expect(read(path.join(outdir, 'stacks', 'prod', '.terraform', 'providers', 'marker'))).toBe('installed');
  expect(read(path.join(outdir, 'stacks', 'prod', '.terraform.lock.hcl'))).toBe('lock');
  expect(fs.existsSync(path.join(outdir, 'stacks', 'gone'))).toBe(false);
  expect(fs.readdirSync(home)).toEqual(['cdktf.out']);
});

test('a lock file the new synth wrote itself wins over the old one', () => {
  write(path.join(outdir, 'stacks', 'prod', '.terraform.lock.hcl'), 'old lock');
  const staged = createStagingFolder(outdir);
  write(path.join(staged, 'stacks', 'prod', '.terraform.lock.hcl'), 'new lock');
  replaceWithStaged(staged, outdir);
  expect(read(path.join(outdir, 'stacks', 'prod', '.terraform.lock.hcl'))).toBe('new lock');
});

test('a discarded staging folder leaves the output folder as it was', () => {
  write(path.join(outdir, 'manifest.json'), 'previous');
  const staged = createStagingFolder(outdir);
  write(path.join(staged, 'manifest.json'), 'half written');
  discardStagingFolder(staged);
  expect(read(path.join(outdir, 'manifest.json'))).toBe('previous');
  expect(fs.readdirSync(home)).toEqual(['cdktf.out']);
});
