/**
 * This package as a user installs it, without the network: `npm pack` of the checkout (its `dist/`
 * is compiled by jest's global setup), unpacked into `<app>/node_modules/hosted-rpa-bots`, and every
 * other dependency a symlink to this checkout's own node_modules. Node resolves a symlinked
 * package by its real path, so the app and the unpacked package load the same cdktf and
 * constructs, as one `npm install` would give them; nothing is downloaded, and it takes seconds.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const PACKAGE_NAME = 'hosted-rpa-bots';

/** Packs the checkout into `dest` and returns the tarball's path. */
export function packTarball(dest: string): string {
  fs.mkdirSync(dest, { recursive: true });
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dest], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, npm_config_ignore_scripts: 'true' } });
  const [{ filename }] = JSON.parse(out) as { filename: string }[];
  return path.join(dest, filename);
}

/** Installs the tarball into `app` as described above, and returns the installed package's folder. */
export function installPacked(app: string, tarball: string): string {
  const modules = path.join(app, 'node_modules');
  fs.mkdirSync(modules, { recursive: true });
  const own = fs.realpathSync(path.join(ROOT, 'node_modules'));
  for (const entry of fs.readdirSync(own)) {
    if (entry === PACKAGE_NAME) continue;
    fs.symlinkSync(path.join(own, entry), path.join(modules, entry));
  }
  const installed = path.join(modules, PACKAGE_NAME);
  fs.mkdirSync(installed);
  // npm's tarballs hold one folder, package/.
  execFileSync('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
  return installed;
}
