/**
 * The stores an API test runs on: SQLite always, and PostgreSQL at BOTS_TEST_PG_URL, each run in
 * a schema of its own that is dropped afterwards. CI must run the PostgreSQL half: there, a
 * missing BOTS_TEST_PG_URL fails the suite instead of leaving it out.
 */
import { randomBytes } from 'crypto';
import { Pool } from 'pg';
import { PostgresStore } from '../../runtime/store/postgres';
import type { Store } from '../../runtime/store/types';

/** A store to give startTestFleet (none: its own SQLite file), and what drops it afterwards. */
export interface OpenedStore {
  readonly store?: Store;
  readonly cleanup: () => Promise<void>;
}

export type StoreCase = [name: string, open: () => Promise<OpenedStore>];

const HOW_TO_RUN = 'set BOTS_TEST_PG_URL, e.g. BOTS_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/test';

/** For `describe.each`: each store by name, with how to open a fresh one. */
export function apiTestStores(): StoreCase[] {
  const url = process.env.BOTS_TEST_PG_URL;
  const stores: StoreCase[] = [['sqlite', async () => ({ cleanup: async () => undefined })]];
  if (url) {
    stores.push([
      'postgres',
      async () => {
        const schema = `hb_test_${randomBytes(6).toString('hex')}`;
        return {
          store: await PostgresStore.open({ connectionString: url, schema }),
          cleanup: async () => {
            const admin = new Pool({ connectionString: url, max: 1 });
            await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => admin.end());
          },
        };
      },
    ]);
  } else if (process.env.CI === 'true' || process.env.CI === '1') {
    stores.push([
      'postgres',
      async () => {
        throw new Error(`BOTS_TEST_PG_URL is not set, and CI must run the API tests on PostgreSQL too: ${HOW_TO_RUN} (.ci/run sets it)`);
      },
    ]);
  } else {
    // Straight to stderr: jest prints no console output of a passing file.
    process.stderr.write(`API tests on PostgreSQL were left out: ${HOW_TO_RUN}\n`);
  }
  return stores;
}
