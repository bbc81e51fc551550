import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDb, createTestDb, testDatabaseUrl } from '../support/db.js';
import { GOLDEN_DIR, GOLDEN_GL_FILE } from './golden-data.js';
import { runBillops } from '../support/cli.js';

const billops = runBillops;

describe('billops reconcile and billops export (the real process)', () => {
  let dir: string;
  let pg: TestDb | null = null;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'billops-reconcile-'));
    env = { BILLOPS_DATA_DIR: dir };
    if (testDatabaseUrl()) {
      pg = await createTestDb();
      env.DATABASE_URL = pg.url ?? '';
    }
  });
  afterAll(async () => {
    await pg?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reconciles, exports to a file and to stdout, and gives the same bytes after a rerun; bad input exits 2', async () => {
    expect((await billops(['import', 'gl', path.join(GOLDEN_DIR, GOLDEN_GL_FILE)], env)).code).toBe(0);

    const first = await billops(['reconcile'], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^Reconciliation run #1 \(rules [0-9a-f]{16}\)/);
    // no Stripe data here: every line on the two accounts is GL-only but the journal, which is expected
    expect(first.stdout).toContain('  expected GL-only           1   -$42.17');
    expect(first.stdout).toMatch(/Exceptions: \d+ opened, 0 reopened, 0 auto-resolved, 0 updated; \d+ active\./);

    const a = path.join(dir, 'exceptions-a.csv');
    const exp = await billops(['export', 'exceptions', '--format', 'csv', '--out', a], env);
    expect(exp.code).toBe(0);
    expect(exp.stdout).toMatch(new RegExp(`^Wrote \\d+ exceptions rows to ${a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(csv\\)\\.\\n$`));

    expect((await billops(['reconcile'], env)).code).toBe(0);
    const json = await billops(['export', 'exceptions', '--format', 'json'], env);
    expect(json.code).toBe(0);
    expect(json.stderr).toMatch(/^Exported \d+ exceptions rows \(json\)\.\n$/);
    const parsed = JSON.parse(json.stdout) as Array<{ kind: string }>;
    expect(parsed.length).toBeGreaterThan(0);
    const b = path.join(dir, 'exceptions-b.csv');
    expect((await billops(['export', 'exceptions', '--out', b], env)).code).toBe(0);
    expect(readFileSync(b)).toEqual(readFileSync(a));
    expect(readFileSync(a, 'utf8').split('\n').length - 2).toBe(parsed.length);

    const bad = await billops(['reconcile', '--from', '2026-13-01'], env);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe('billops reconcile: --from "2026-13-01" is not a date (expected YYYY-MM-DD, e.g. 2026-10-01).\n');
  }, 120_000);
});
