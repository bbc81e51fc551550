import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, connect } from '../../src/db/index.js';
import { type TestDb, createTestDb, testDatabaseUrl } from '../support/db.js';
import { fixturePath } from './helpers.js';
import { runBillops } from '../support/cli.js';

const billops = runBillops;

describe('billops import gl (the real process)', () => {
  let dataDir: string;
  let pg: TestDb | null = null;
  let env: Record<string, string>;
  /** The database the process wrote to, opened after it exited. */
  const open = async (): Promise<Db> => (pg ? pg : connect({ dataDir: path.join(dataDir, 'pgdata') }));

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'billops-cli-'));
    env = { BILLOPS_DATA_DIR: dataDir };
    if (testDatabaseUrl()) {
      pg = await createTestDb();
      env.DATABASE_URL = pg.url ?? '';
    }
  });
  afterAll(async () => {
    await pg?.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('exits 0 with the summary on stdout, and 2 with every problem on stderr for a bad file (nothing imported)', async () => {
    const ok = await billops(['import', 'gl', fixturePath('qbo-transaction-detail.csv')], env);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('Imported qbo-transaction-detail.csv (QuickBooks Online) as import #');
    expect(ok.stdout).toContain('14 postings: 14 new, 0 already there');
    expect(ok.stdout).toContain('USD: debits $39,600.00, credits $39,600.00 (14 postings)');

    const bad = await billops(['import', 'gl', fixturePath('qbo-with-errors.csv')], env);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('billops import gl: qbo-with-errors.csv was not imported: 3 problems');
    expect(bad.stderr).toContain('  - line 14, column "Date": "31/02/2026" is not a date (expected MM/DD/YYYY)');
    expect(bad.stderr).toContain('  - line 15, column "Amount": "12O.00" is not an amount');

    const db = await open();
    try {
      const r = await sql<{ files: string[]; n: bigint }>`
        select array_agg(distinct source_file) as files, count(*) as n from gl_entries`.execute(db.db);
      expect(r.rows[0]).toEqual({ files: ['qbo-transaction-detail.csv'], n: 14n });
    } finally {
      if (!pg) await db.close();
    }
  }, 60_000);
});
