/**
 * A synth that fails never leaves half a result. cdktf writes into its output folder in place, so
 * a failed synth of an app with errors leaves `cdktf.out` with some stacks rewritten and others
 * gone (their fleet.json deleted). Here cdktf writes into a new folder beside the output folder,
 * and that folder takes the output folder's place only when the synth succeeded; a failed one is
 * deleted and the previous output stays as it was, byte for byte.
 *
 * Beside it, not in the temp folder: a rename within one folder is one filesystem step, and the
 * local state path (stacks/backend.ts) is relative to the stack's folder, which sits at the same
 * depth in both.
 */
import * as fs from 'fs';
import * as path from 'path';

/**
 * What cdktf keeps in a stack's folder from one synth to the next and Terraform needs again:
 * the providers `terraform init` installed and the lock file that pins them.
 */
export const KEPT_BETWEEN_SYNTHS = ['.terraform', '.terraform.lock.hcl'] as const;

/** The prefix of staging folders beside `outdir`, e.g. `.cdktf.out.next-` (hidden, and named after the folder they replace). */
export function stagingPrefix(outdir: string): string {
  return path.join(path.dirname(outdir), `.${path.basename(outdir)}.next-`);
}

/** A new, empty folder beside `outdir` for cdktf to synthesize into. */
export function createStagingFolder(outdir: string): string {
  fs.mkdirSync(path.dirname(outdir), { recursive: true });
  return fs.mkdtempSync(stagingPrefix(outdir));
}

/** Deletes a staging folder whose synth failed; the output folder is not touched. */
export function discardStagingFolder(staged: string): void {
  fs.rmSync(staged, { recursive: true, force: true });
}

function stackFolders(outdir: string): string[] {
  const stacks = path.join(outdir, 'stacks');
  if (!fs.existsSync(stacks)) return [];
  return fs.readdirSync(stacks, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
}

/** Moves each stack's Terraform working files from `from` into `to`, where `to` has none; returns what it moved, as [from, to] paths. */
function carryWorkingFiles(from: string, to: string): Array<[string, string]> {
  const moved: Array<[string, string]> = [];
  for (const stack of stackFolders(to)) {
    for (const name of KEPT_BETWEEN_SYNTHS) {
      const source = path.join(from, 'stacks', stack, name);
      const target = path.join(to, 'stacks', stack, name);
      if (fs.existsSync(source) && !fs.existsSync(target)) {
        fs.renameSync(source, target);
        moved.push([source, target]);
      }
    }
  }
  return moved;
}

/**
 * Puts a successful synth in place of `outdir`: the previous output is set aside, each stack's
 * Terraform working files move over from it into the new one (as cdktf would have kept them),
 * the new one is renamed into place, and the old one deleted. If a step fails, the previous
 * output is put back as it was and the new one deleted.
 */
export function replaceWithStaged(staged: string, outdir: string): void {
  let aside: string | undefined;
  if (fs.existsSync(outdir)) {
    aside = fs.mkdtempSync(path.join(path.dirname(outdir), `.${path.basename(outdir)}.old-`));
    // mkdtemp made the name; rename needs it free.
    fs.rmdirSync(aside);
    try {
      fs.renameSync(outdir, aside);
    } catch (err) {
      // Another program holds a file in it open (Windows refuses the rename then): keep it as it is.
      discardStagingFolder(staged);
      throw new Error(`cannot replace ${outdir} with the new synth output: ${(err as Error).message}; close what uses it and synthesize again`);
    }
  }
  const moved = aside ? carryWorkingFiles(aside, staged) : [];
  try {
    fs.renameSync(staged, outdir);
  } catch (err) {
    for (const [source, target] of moved) fs.renameSync(target, source);
    if (aside) fs.renameSync(aside, outdir);
    discardStagingFolder(staged);
    throw new Error(`cannot move the new synth output ${staged} to ${outdir}: ${(err as Error).message}`);
  }
  if (aside) fs.rmSync(aside, { recursive: true, force: true });
}
