/**
 * Compiles the project and its runtime bundle once before the suites that run the built CLI
 * (`dist/`) as a child process, so they always test the sources of this checkout.
 */
import { execFileSync } from 'child_process';
import * as path from 'path';

export default function globalSetup(): void {
  const root = path.resolve(__dirname, '..');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  // The runtime bundle the stacks ship (and the bundle test runs).
  execFileSync(process.execPath, ['dist/runtime/cli/bundle.js'], { cwd: root, stdio: 'inherit' });
}
