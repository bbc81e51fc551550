import { createReadStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Actor } from '../../src/audit/index.js';
import type { Config } from '../../src/config/index.js';
import type { Db } from '../../src/db/index.js';
import { type GlImportResult, importGlExport } from '../../src/ledger/index.js';
import { normalizeObjects, processStripeEvents } from '../../src/stripe/index.js';
import type { Clock } from '../../src/util/index.js';

/** test/fixtures/golden: the reconciliation month, as Stripe and QuickBooks hand it over. */
export const GOLDEN_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/golden');
export const GOLDEN_GL_FILE = 'gl-transaction-detail-2026-10.csv';

function readJson<T>(name: string): T {
  return JSON.parse(readFileSync(path.join(GOLDEN_DIR, name), 'utf8')) as T;
}

/** Which Stripe object is which (written by build.ts next to the data). */
export const GOLDEN_IDS = readJson<Record<string, string>>('ids.json');

export function goldenId(name: string): string {
  const id = GOLDEN_IDS[name];
  if (!id) throw new Error(`golden fixture has no id named ${name}`);
  return id;
}

const goldenActor: Actor = { kind: 'system', id: 'golden-test' };

/**
 * Load the golden month through the paths real data takes: the 1 Oct backfill snapshot and the
 * month-end balance transactions through the backfill's normalization, October's webhook events
 * through `processStripeEvents` (in one transaction, as the queue worker runs a batch), and the GL
 * export through the GL importer.
 */
export async function loadGoldenStripe(db: Db): Promise<void> {
  const snapshot = readJson<{ fetched_at: number; objects: unknown[] }>('stripe-backfill-2026-10-01.json');
  const at = new Date(snapshot.fetched_at * 1000);
  await db.db.transaction().execute((trx) => normalizeObjects(trx, snapshot.objects.map((object) => ({ object, version: { at, eventId: null } })), at));

  const events = readJson<unknown[]>('stripe-events-2026-10.json');
  await db.db.transaction().execute((trx) => processStripeEvents(trx, events, new Date('2026-10-31T23:00:00Z')));

  const balance = readJson<{ fetched_at: number; objects: unknown[] }>('stripe-balance-transactions-2026-10-31.json');
  const bat = new Date(balance.fetched_at * 1000);
  await db.db.transaction().execute((trx) => normalizeObjects(trx, balance.objects.map((object) => ({ object, version: { at: bat, eventId: null } })), bat));
}

export async function loadGoldenGl(db: Db, config: Config, clock: Clock, file = GOLDEN_GL_FILE): Promise<GlImportResult> {
  return importGlExport(
    { db, ledger: config.file.ledger, clock },
    { input: createReadStream(path.join(GOLDEN_DIR, file)), fileName: path.basename(file), actor: goldenActor, via: 'cli' },
  );
}
