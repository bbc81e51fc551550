import { rmSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { listAudit } from '../../audit/index.js';
import { loadConfig } from '../../config/index.js';
import { connect, migrateToLatest, migrationStatus } from '../../db/index.js';
import { ManualClock, silentLogger } from '../../util/index.js';
import { out } from '../output.js';
import { approvalsDemoStep } from './approvals.js';
import { collectionsDemoStep } from './collections.js';
import type { DemoContext, DemoStep } from './context.js';
import { ledgerDemoStep } from './ledger.js';
import { reconcileDemoStep } from './reconcile.js';
import { slackDemoStep } from './slack.js';
import { stripeDemoStep } from './stripe.js';

/** The demo month. Everything the demo loads is dated inside it, so every run prints the same. */
export const DEMO_MONTH = { start: '2026-10-01', end: '2026-10-31' } as const;

/**
 * Each capability adds one step, in the order billops' daily job runs them: ingest Stripe, import
 * the GL, reconcile, then what people see in Slack.
 */
const steps: Array<{ title: string; run: DemoStep }> = [
  { title: 'Stripe ingest', run: stripeDemoStep },
  { title: 'GL import', run: ledgerDemoStep },
  { title: 'Reconcile', run: reconcileDemoStep },
  { title: 'Slack', run: slackDemoStep },
  { title: 'Money actions with approvals', run: approvalsDemoStep },
  { title: 'Collections and dunning', run: collectionsDemoStep },
];

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
    const version = await sql<{ v: string }>`select version() as v`.execute(db.db);
    out.line(
      `Embedded ${version.rows[0]?.v.split(' on ')[0] ?? 'PostgreSQL'} at ${path.relative(process.cwd(), dir) || dir}: ` +
        `${res.results?.length ?? 0} migrations applied, ${status.pending.length} pending`,
    );
    const ctx: DemoContext = {
      db,
      config,
      clock: new ManualClock(`${DEMO_MONTH.end}T23:00:00Z`),
      logger: silentLogger,
      dir,
      say: (text = '') => out.line(text),
    };
    for (const step of steps) {
      out.line();
      out.line(`── ${step.title} ${'─'.repeat(Math.max(0, 70 - step.title.length))}`);
      await step.run(ctx);
    }
    out.line();
    const audit = await listAudit(db.db);
    out.line(`Audit log: ${audit.length} entr${audit.length === 1 ? 'y' : 'ies'} (append-only: the database refuses UPDATE and DELETE).`);
    out.line(`Done in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  } finally {
    await db.close();
  }
}
