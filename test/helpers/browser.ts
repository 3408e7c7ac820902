/**
 * The browser tests' chromium: Debian's, as .ci/run installs it (playwright cannot download one
 * here). In CI a missing browser fails the run; elsewhere its tests are skipped with a warning.
 */
import * as fs from 'fs';
import * as path from 'path';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Screenshots go here; copies in docs/ are updated by hand when the pages change. */
export const ARTIFACTS = path.resolve(__dirname, '..', '..', 'test-artifacts');

/** `describe` when chromium is here, else `describe.skip` (and an error in CI); `what` names the tests in the warning. */
export function describeWithBrowser(what: string): jest.Describe {
  if (fs.existsSync(CHROMIUM)) return describe;
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium for the browser tests`);
  console.warn(`${what} skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
  return describe.skip;
}
