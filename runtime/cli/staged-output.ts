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

/**
 * Puts a successful synth in place of `outdir`: first each stack's Terraform working files move
 * over from the previous output (as cdktf would have kept them), then the previous output is set
 * aside, the new one renamed into place, and the old one deleted. If the rename fails, the
 * previous output is put back.
 */
export function replaceWithStaged(staged: string, outdir: string): void {
  if (fs.existsSync(outdir)) {
    for (const stack of stackFolders(staged)) {
      for (const name of KEPT_BETWEEN_SYNTHS) {
        const from = path.join(outdir, 'stacks', stack, name);
        const to = path.join(staged, 'stacks', stack, name);
        if (fs.existsSync(from) && !fs.existsSync(to)) fs.renameSync(from, to);
      }
    }
  }
  const aside = fs.existsSync(outdir) ? fs.mkdtempSync(path.join(path.dirname(outdir), `.${path.basename(outdir)}.old-`)) : undefined;
  if (aside) {
    // mkdtemp made the name; rename needs it free.
    fs.rmdirSync(aside);
    fs.renameSync(outdir, aside);
  }
  try {
    fs.renameSync(staged, outdir);
  } catch (err) {
    if (aside) fs.renameSync(aside, outdir);
    throw new Error(`cannot move the new synth output ${staged} to ${outdir}: ${(err as Error).message}`);
  }
  if (aside) fs.rmSync(aside, { recursive: true, force: true });
}
