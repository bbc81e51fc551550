import { rmSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { listAudit, recordAudit } from '../audit/index.js';
import { loadConfig } from '../config/index.js';
import { connect, migrateToLatest, migrationStatus } from '../db/index.js';
import { formatMoney } from '../money/index.js';
import { out } from './output.js';

export interface DemoOptions {
  dataDir?: string | undefined;
}

/**
 * `npm run demo`: billops' main job on embedded PostgreSQL with nothing else installed. Each run
 * starts from a fresh demo database so what it prints is the same every time.
 */
export async function runDemo(opts: DemoOptions = {}): Promise<void> {
  const config = loadConfig({ ...process.env, DATABASE_URL: undefined });
  const dir = path.resolve(opts.dataDir ?? path.join(config.env.BILLOPS_DATA_DIR, 'demo'));
  rmSync(dir, { recursive: true, force: true });
  const started = Date.now();
  const db = await connect({ dataDir: path.join(dir, 'pgdata') });
  try {
    const res = await migrateToLatest(db.db);
    const status = await migrationStatus(db.db);
    out.line(`billops demo — ${config.file.org.name}, books in ${config.file.org.functional_currency}, timezone ${config.file.org.timezone}`);
    out.line(`Embedded PostgreSQL at ${path.relative(process.cwd(), dir) || dir} (${res.results?.length ?? 0} migrations applied, ${status.pending.length} pending)`);
    const version = await sql<{ v: string }>`select version() as v`.execute(db.db);
    out.line(`Database: ${version.rows[0]?.v.split(' on ')[0] ?? 'unknown'}`);
    await recordAudit(db.db, {
      actor: { kind: 'cli', id: 'demo' },
      action: 'demo.started',
      entity: { type: 'demo', id: path.basename(dir) },
      source: 'cli',
    });
    const audit = await listAudit(db.db);
    out.line(`Audit log: ${audit.length} entry (append-only: the database refuses UPDATE and DELETE).`);
    out.line(`Money check: ${formatMoney({ amount: 123450n, currency: 'USD' })} · ${formatMoney({ amount: 500n, currency: 'JPY' })} · ${formatMoney({ amount: 1250n, currency: 'BHD' })}`);
    out.line(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  } finally {
    await db.close();
  }
}
