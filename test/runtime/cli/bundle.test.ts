import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readZipEntry, zipFolder } from '../../../runtime/cli/bundle';

/** A folder with a compressible agent and a few random bytes, zipped as the bundle is. */
function zippedFolder(): { dir: string; zip: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-zip-'));
  fs.writeFileSync(path.join(dir, 'agent.js'), 'console.log("agent");\n'.repeat(500));
  fs.writeFileSync(path.join(dir, 'random.bin'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
  fs.writeFileSync(path.join(dir, 'empty.txt'), '');
  return { dir, zip: zipFolder(dir, `${dir}.zip`) };
}

describe('runtime bundle zip', () => {
  test('readZipEntry gives back each file zipFolder packed, byte for byte', () => {
    const { dir, zip } = zippedFolder();
    for (const name of ['agent.js', 'random.bin', 'empty.txt']) {
      expect(readZipEntry(zip, name).equals(fs.readFileSync(path.join(dir, name)))).toBe(true);
    }
  });

  test('a file the archive lacks is refused, naming the archive and the file', () => {
    const { zip } = zippedFolder();
    expect(() => readZipEntry(zip, 'main.js')).toThrow(`${zip} has no main.js; rebuild the bundle with npm run build`);
  });

  test('an entry whose content does not match its CRC-32 is refused', () => {
    const { zip } = zippedFolder();
    const bytes = fs.readFileSync(zip);
    // The central directory's first entry is agent.js (names are sorted): change its CRC-32.
    const directory = bytes.readUInt32LE(bytes.length - 22 + 16);
    bytes.writeUInt32LE(bytes.readUInt32LE(directory + 16) ^ 1, directory + 16);
    fs.writeFileSync(zip, bytes);
    expect(() => readZipEntry(zip, 'agent.js')).toThrow(`${zip}: agent.js fails its CRC-32 check`);
  });

  test('a file that is not a zip archive is refused', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-zip-')), 'bundle.zip');
    fs.writeFileSync(file, 'not a zip');
    expect(() => readZipEntry(file, 'agent.js')).toThrow(`${file} is not a zip archive`);
  });
});
