/**
 * This package's own package.json: `hosted-bots --version` prints its version, and `init` makes a
 * fleet repository depend on the versions this package was built and tested with.
 */
import * as fs from 'fs';
import * as path from 'path';

export const PACKAGE_NAME = 'hosted-rpa-bots';

export interface OwnPackage {
  readonly name: string;
  readonly version: string;
  readonly dependencies: Record<string, string>;
  readonly devDependencies: Record<string, string>;
}

/** The package.json of hosted-rpa-bots above this file, or undefined (the deployed runtime bundle ships none). */
export function findOwnPackage(from: string = __dirname): OwnPackage | undefined {
  // Source (runtime/cli) and build (dist/runtime/cli) sit at different depths: walk up to it.
  for (let dir = from; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      try {
        const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
        if (pkg?.name === PACKAGE_NAME) return { dependencies: {}, devDependencies: {}, ...pkg };
      } catch {
        /* another package's unreadable file: keep walking */
      }
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

export function ownPackage(): OwnPackage {
  const pkg = findOwnPackage();
  if (!pkg) throw new Error(`cannot find the package.json of ${PACKAGE_NAME} above ${__dirname}`);
  return pkg;
}

/** What `--version` prints. */
export function ownVersion(): string {
  return findOwnPackage()?.version ?? 'unknown (no package.json of hosted-rpa-bots beside this build)';
}
