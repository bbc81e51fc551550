import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { sql } from 'kysely';
import { type ExceptionDigest, SEVERITIES, type Severity, exceptionDigest } from '../../exceptions/index.js';
import { reconcile, writeExport } from '../../matching/index.js';
import { formatMoney } from '../../money/index.js';
import { describeReconcileSummary } from '../commands/reconcile.js';
import type { DemoStep } from './context.js';

const demoActor = { kind: 'scheduler' as const, id: 'reconcile', name: 'billops demo' };

const SEVERITY_MARK: Record<Severity, string> = { critical: '!!!', high: '!! ', medium: '!  ', low: '   ' };

/** The morning digest as the digest channel would show it, in plain text. */
export function describeDigest(d: ExceptionDigest): string[] {
  const lines: string[] = [];
  const bySeverity = [...SEVERITIES]
    .reverse()
    .filter((s) => d.bySeverity[s] > 0)
    .map((s) => `${d.bySeverity[s]} ${s}`)
    .join(', ');
  lines.push(`Exceptions needing a person: ${d.open}${bySeverity ? ` (${bySeverity})` : ''}`);
  for (const k of d.byKind) {
    const amounts = k.amounts.map((a) => formatMoney({ amount: a.amount, currency: a.currency })).join(' · ');
    lines.push(`  ${k.label.padEnd(28)} ${String(k.count).padStart(4)}   ${amounts}`);
  }
  if (d.top.length) {
    lines.push('Start with:');
    for (const e of d.top) {
      const who = e.customerName ?? 'no customer';
      const ref = e.reference ?? e.stripeId ?? e.glSource ?? '';
      lines.push(`  ${SEVERITY_MARK[e.severity]} #${e.id} ${e.kindLabel}: ${formatMoney({ amount: e.amount, currency: e.currency })}, ${who}${ref ? ` (${ref})` : ''}`);
    }
  }
  return lines;
}

/**
 * The daily reconcile for the demo month: Stripe's billing records against the GL import, the run's
 * summary as `billops reconcile` prints it, the digest people would get in Slack, and the matches and
 * exceptions exported for the auditors.
 */
export const reconcileDemoStep: DemoStep = async (ctx) => {
  const db = ctx.db.db;
  const gl = await sql<{ n: bigint }>`select count(*) as n from gl_entries`.execute(db);
  if ((gl.rows[0]?.n ?? 0n) === 0n) ctx.say('No GL entries imported yet: everything Stripe implies is reported as missing in the GL.');
  const summary = await reconcile(db, {
    file: ctx.config.file,
    matching: ctx.config.file.matching,
    clock: ctx.clock,
    actor: demoActor,
    source: 'demo',
  });
  for (const line of describeReconcileSummary(summary)) ctx.say(line);

  ctx.say();
  const org = ctx.config.file.org;
  const digest = await exceptionDigest(db, { clock: ctx.clock, top: 5, fx: { reportingCurrency: org.reporting_currency, rates: org.fx_rates } });
  for (const line of describeDigest(digest)) ctx.say(line);

  ctx.say();
  for (const kind of ['matches', 'exceptions'] as const) {
    const file = path.join(ctx.dir, `${kind}-2026-10.csv`);
    const stream = createWriteStream(file);
    const res = await writeExport(db, stream, { kind, format: 'csv', timezone: ctx.config.file.org.timezone });
    stream.end();
    await finished(stream);
    ctx.say(`Exported ${res.rows} ${kind} rows to ${path.relative(process.cwd(), file) || file} (billops export ${kind} --format csv).`);
  }
};
