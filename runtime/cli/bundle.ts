/**
 * The runtime and the agent as two self-contained JavaScript files (esbuild), for the App
 * Service package and for the bots. The deployed runtime stores its state in PostgreSQL through
 * the pure-JS `pg` client, so nothing native is needed; the SQLite store, the demo and the
 * construct library stay out of the bundle. The Azure Monitor OpenTelemetry distro is inside
 * main.js too, loaded only when a connection string is set (runtime/telemetry.ts): its HTTP
 * instrumentation patches Node's own http and https, which the bundle still requires by name,
 * while libraries bundled into main.js (pg) are beyond its reach, so their instrumentations are off.
 *
 *   node dist/runtime/cli/bundle.js [outDir]      (npm run build does this into dist/bundle)
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';

import { CHART_FILES, chartLibraryDir } from '../charts';
import { BUNDLE_FILES } from './bundle-files';

export { BUNDLE_FILES };

/** Modules the bundle never loads in a deployment; they are required lazily where used. */
const EXTERNAL = ['better-sqlite3', 'cdktf', 'cdktf-cli', 'constructs', '@cdktf/*', 'pg-native', 'playwright-core', 'esbuild'];

/**
 * The entry point: the TypeScript source in a checkout (whether this file runs from the sources
 * or from dist/), else the compiled file of an installed package.
 */
function entry(relative: string): string {
  const here = path.resolve(__dirname, '..', '..');
  const checkout = path.basename(here) === 'dist' ? path.dirname(here) : here;
  const source = path.join(checkout, `${relative}.ts`);
  return fs.existsSync(source) ? source : path.join(here, `${relative}.js`);
}

/** A zip archive (deflate) of the files of `dir`, flat, as App Service zip deploy takes it. */
export function zipFolder(dir: string, outFile: string): string {
  const entries: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const name of fs.readdirSync(dir).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort()) {
    const data = fs.readFileSync(path.join(dir, name));
    const packed = zlib.deflateRawSync(data, { level: 9 });
    const crc = zlib.crc32(data);
    const file = Buffer.from(name, 'utf8');
    // A fixed timestamp (1980-01-01), so the same bundle zips to the same bytes.
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(file.length, 26);
    local.writeUInt16LE(0, 28);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(0x0314, 4);
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(0x0800, 8);
    header.writeUInt16LE(8, 10);
    header.writeUInt16LE(0, 12);
    header.writeUInt16LE(0x21, 14);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(packed.length, 20);
    header.writeUInt32LE(data.length, 24);
    header.writeUInt16LE(file.length, 28);
    header.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    header.writeUInt32LE(offset, 42);
    entries.push(local, file, packed);
    central.push(header, file);
    offset += local.length + file.length + packed.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(central.length / 2, 8);
  end.writeUInt16LE(central.length / 2, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  fs.writeFileSync(outFile, Buffer.concat([...entries, directory, end]));
  return outFile;
}

/**
 * One file of a zip archive written by {@link zipFolder} (stored or deflate entries, no zip64),
 * read from the archive itself, so that what synth hashes is what App Service runs.
 */
export function readZipEntry(zipFile: string, name: string): Buffer {
  const zip = fs.readFileSync(zipFile);
  // The end-of-central-directory record ends the file, after a comment of at most 65535 bytes.
  let end = zip.length - 22;
  while (end >= Math.max(0, zip.length - 22 - 0xffff) && zip.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0 || zip.readUInt32LE(end) !== 0x06054b50) throw new Error(`${zipFile} is not a zip archive: it has no end-of-central-directory record`);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`${zipFile}: central directory entry ${i} at byte ${at} is corrupt`);
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const packedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const entryName = zip.toString('utf8', at + 46, at + 46 + nameLength);
    const local = zip.readUInt32LE(at + 42);
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    if (entryName !== name) continue;
    if (zip.readUInt32LE(local) !== 0x04034b50) throw new Error(`${zipFile}: the local header of ${name} at byte ${local} is corrupt`);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const packed = zip.subarray(start, start + packedSize);
    if (method !== 0 && method !== 8) throw new Error(`${zipFile}: ${name} uses compression method ${method}; only stored (0) and deflate (8) are read`);
    const data = method === 8 ? zlib.inflateRawSync(packed) : Buffer.from(packed);
    if (zlib.crc32(data) !== crc) throw new Error(`${zipFile}: ${name} fails its CRC-32 check`);
    return data;
  }
  throw new Error(`${zipFile} has no ${name}; rebuild the bundle with npm run build`);
}

/** Builds main.js and agent.js into `outDir` and returns it. */
export function buildBundle(outDir: string): string {
  // Loaded here: esbuild is only needed to build, never to run.
  const esbuild = require('esbuild') as typeof import('esbuild');
  fs.mkdirSync(outDir, { recursive: true });
  for (const [file, source] of [
    [BUNDLE_FILES.runtime, 'runtime/cli/main'],
    [BUNDLE_FILES.agent, 'runtime/agent/main'],
  ] as const) {
    esbuild.buildSync({
      entryPoints: [entry(source)],
      bundle: true,
      platform: 'node',
      target: 'node20',
      outfile: path.join(outDir, file),
      external: EXTERNAL,
      legalComments: 'none',
      logLevel: 'error',
    });
  }
  // The dashboard serves the charting library's files; the bundle has no node_modules to read them from.
  for (const file of Object.values(CHART_FILES)) fs.copyFileSync(path.join(chartLibraryDir(), file), path.join(outDir, file));
  fs.writeFileSync(path.join(outDir, 'package.json'), `${JSON.stringify({ name: 'hosted-bots-runtime', private: true, main: BUNDLE_FILES.runtime, scripts: { start: `node ${BUNDLE_FILES.runtime} runtime` } }, null, 2)}\n`);
  // The App Service package, zipped once: every stack ships the same file.
  zipFolder(outDir, `${outDir}.zip`);
  return outDir;
}

if (require.main === module) {
  const out = path.resolve(process.argv[2] ?? path.join(__dirname, '..', '..', 'bundle'));
  buildBundle(out);
  process.stdout.write(`bundle: ${path.join(out, BUNDLE_FILES.runtime)}, ${path.join(out, BUNDLE_FILES.agent)}, ${out}.zip\n`);
}
