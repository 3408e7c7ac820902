import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../../runtime/store/sqlite';
import { storeSuite } from './store-suite';

storeSuite('sqlite', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-'));
  const file = path.join(dir, 'runtime.db');
  return {
    store: new SqliteStore({ file }),
    reopen: async () => new SqliteStore({ file }),
    sql: async (text: string) => {
      const db = new Database(file);
      try {
        db.exec(text);
      } finally {
        db.close();
      }
    },
    cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
});

test('sqlite runs in WAL mode', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'store-'));
  const store = new SqliteStore({ file: path.join(dir, 'x.db') });
  expect(fs.existsSync(path.join(dir, 'x.db-wal'))).toBe(true);
  void store.close();
});
