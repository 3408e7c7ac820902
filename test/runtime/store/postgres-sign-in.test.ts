/**
 * Signing in to PostgreSQL with a managed identity's token: the real `pg` client, against a server
 * that speaks the start of PostgreSQL's wire protocol (StartupMessage, then
 * AuthenticationCleartextPassword, as Azure Database for PostgreSQL asks an Entra ID user), records
 * the user and password it is sent, and refuses the sign-in. The local test server trusts every
 * connection and never asks for a password, so it could not show this.
 */
import * as net from 'net';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { databaseTokenPassword } from '../../../runtime/azure/database-sign-in';
import { PostgresStore } from '../../../runtime/store/postgres';

interface SignIn {
  readonly user?: string;
  readonly database?: string;
  readonly password?: string;
}

/** Accepts connections, asks each for a cleartext password, records it, and answers 28P01. */
async function passwordAskingServer(): Promise<{ port: number; signIns: SignIn[]; close(): Promise<void> }> {
  const signIns: SignIn[] = [];
  const server = net.createServer((socket) => {
    let buffer = Buffer.alloc(0);
    let started = false;
    const signIn: { user?: string; database?: string; password?: string } = {};
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!started && buffer.length >= 8 && buffer.length >= buffer.readInt32BE(0)) {
        const length = buffer.readInt32BE(0);
        const fields = buffer.subarray(8, length - 1).toString('utf8').split('\0');
        for (let i = 0; i + 1 < fields.length; i += 2) {
          if (fields[i] === 'user') signIn.user = fields[i + 1];
          if (fields[i] === 'database') signIn.database = fields[i + 1];
        }
        buffer = buffer.subarray(length);
        started = true;
        // AuthenticationCleartextPassword: 'R', length 8, code 3.
        const ask = Buffer.alloc(9);
        ask.write('R', 0);
        ask.writeInt32BE(8, 1);
        ask.writeInt32BE(3, 5);
        socket.write(ask);
      }
      if (started && buffer.length >= 5 && buffer[0] === 'p'.charCodeAt(0) && buffer.length >= 1 + buffer.readInt32BE(1)) {
        signIn.password = buffer.subarray(5, 1 + buffer.readInt32BE(1) - 1).toString('utf8');
        signIns.push({ ...signIn });
        const fields = 'SFATAL\0C28P01\0Mpassword authentication failed for user\0\0';
        const error = Buffer.alloc(5 + Buffer.byteLength(fields));
        error.write('E', 0);
        error.writeInt32BE(4 + Buffer.byteLength(fields), 1);
        error.write(fields, 5);
        socket.end(error);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    signIns,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('PostgresStore signing in with an Entra ID token', () => {
  test("sends the identity's name as the user and a fresh token for the database's scope as the password", async () => {
    const server = await passwordAskingServer();
    const asked: string[] = [];
    const credential: TokenCredential = {
      getToken: async (scope: string | string[]): Promise<AccessToken> => {
        asked.push([scope].flat().join(' '));
        return { token: `entra-token-${asked.length}`, expiresOnTimestamp: Date.now() + 3600_000 };
      },
    };
    try {
      await expect(
        PostgresStore.open({
          connectionString: `postgresql://id-hostedbots-prod-runtime@127.0.0.1:${server.port}/hostedbots`,
          password: databaseTokenPassword(credential),
          poolSize: 1,
        }),
      ).rejects.toThrow(/password authentication failed/);
      expect(server.signIns[0]).toEqual({ user: 'id-hostedbots-prod-runtime', database: 'hostedbots', password: 'entra-token-1' });
      expect(asked[0]).toBe('https://ossrdbms-aad.database.windows.net/.default');
    } finally {
      await server.close();
    }
  });

  test('a credential that gives no token fails the sign-in with a message naming the scope', async () => {
    const password = databaseTokenPassword({ getToken: async () => null });
    await expect(password()).rejects.toThrow('the managed identity returned no token for https://ossrdbms-aad.database.windows.net/.default');
  });
});
