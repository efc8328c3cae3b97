import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openTestDb } from '../helpers/db.ts';

describe('json and jsonb columns read through parseJson', () => {
  it('an escaped key stored after another escaped key reads back as stored (PGlite, or PostgreSQL under test:pg)', async () => {
    const { db, close } = await openTestDb({ migrate: false });
    try {
      const rows = await db.transaction(async (tx) => (await tx.query<Record<string, unknown>>(
        String.raw`SELECT '{"\\":0}'::jsonb AS a, '{"\r":2}'::jsonb AS b, '{"h":[],"\\":0}'::json AS c, '{"h":1,"\"":3}'::json AS d`)).rows);
      assert.deepEqual(rows[0], { a: { '\\': 0 }, b: { '\r': 2 }, c: { h: [], '\\': 0 }, d: { h: 1, '"': 3 } });
    } finally {
      await close();
    }
  });
});
