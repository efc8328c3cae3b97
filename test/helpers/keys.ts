import { randomBytes } from 'node:crypto';

/**
 * A PROBECTL_ENCRYPTION_KEY for tests that run the service on PostgreSQL (where the key is required): 32 random
 * bytes, base64, one per test process, so every replica and restart within a file shares it.
 */
export const TEST_ENCRYPTION_KEY = randomBytes(32).toString('base64');

/** The environment a service on this PostgreSQL URL needs: the URL and the test process's encryption key. */
export function databaseEnv(url: string): { PROBECTL_DATABASE_URL: string; PROBECTL_ENCRYPTION_KEY: string } {
  return { PROBECTL_DATABASE_URL: url, PROBECTL_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY };
}
