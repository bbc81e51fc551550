import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { Actor } from '../../audit/index.js';
import { type Config, loadConfig } from '../../config/index.js';
import { type Db, connect, migrateToLatest } from '../../db/index.js';
import { KIND_LABELS, exceptionDigest } from '../../exceptions/index.js';
import { type OutcomeTotals, type ReconcileSummary, checkRange, parseDay, reconcile } from '../../matching/index.js';
import { formatMoney } from '../../money/index.js';
import { type Clock, UserError, systemClock } from '../../util/index.js';
import { out as defaultOut } from '../output.js';
import type { CliCommand } from './types.js';

const USAGE = 'billops reconcile [--from YYYY-MM-DD] [--to YYYY-MM-DD]';

export interface CliOut {
  line(text?: string): void;
  error(text: string): void;
}

export interface ReconcileCliDeps {
  db: Db;
  config: Config;
  clock?: Clock;
  out?: CliOut;
  actor?: Actor;
}

/** The OS user, for the audit log; a container without a passwd entry still gets a name. */
export function cliActor(): Actor {
  try {
    return { kind: 'cli', id: userInfo().username || 'cli' };
  } catch {
    return { kind: 'cli', id: 'cli' };
  }
}

/** `$1,234.50 · €500.00`, currencies in code order; `—` when there is nothing. */
export function formatAmounts(amounts: Record<string, string>): string {
  const parts = Object.keys(amounts)
    .sort()
    .map((currency) => formatMoney({ amount: BigInt(amounts[currency] ?? '0'), currency }));
  return parts.length ? parts.join(' · ') : '—';
}

function outcomeLine(label: string, t: OutcomeTotals): string {
  return `  ${label.padEnd(20)} ${String(t.count).padStart(7)}   ${formatAmounts(t.amounts)}`;
}

/** A run's summary as a person reads it on a terminal (and the demo prints it). */
export function describeReconcileSummary(s: ReconcileSummary, window: { from?: string | undefined; to?: string | undefined } = {}): string[] {
  const lines: string[] = [];
  const secs = (s.durationMs / 1000).toFixed(1);
  lines.push(
    `Reconciliation run #${s.runId} (rules ${s.rulesHash}) in ${secs} s; ${s.refreshed} billing record${s.refreshed === 1 ? '' : 's'} refreshed from Stripe.`,
  );
  if (window.from || window.to) lines.push(`Billing records dated ${window.from ?? 'any time'} … ${window.to ?? 'today'}.`);
  lines.push('');
  const nameWidth = Math.max(20, ...s.rules.map((r) => r.rule.length));
  lines.push(`  ${'rule'.padEnd(nameWidth)} ${'kind'.padEnd(17)} ${'matches'.padStart(7)} ${'billing'.padStart(7)} ${'GL'.padStart(7)}`);
  for (const r of s.rules) {
    lines.push(`  ${r.rule.padEnd(nameWidth)} ${r.kind.padEnd(17)} ${String(r.matches).padStart(7)} ${String(r.billingRecords).padStart(7)} ${String(r.glEntries).padStart(7)}`);
  }
  lines.push('');
  lines.push('Billing records (what Stripe says should be in the GL)');
  lines.push(`  ${''.padEnd(20)} ${'count'.padStart(7)}   net amount per currency`);
  lines.push(outcomeLine('matched this run', s.billing.matched));
  lines.push(outcomeLine('billing only', s.billing.billingOnly));
  lines.push('GL entries (on the receivable and Stripe clearing accounts)');
  lines.push(outcomeLine('matched this run', s.gl.matched));
  lines.push(outcomeLine('expected GL-only', s.gl.expected));
  lines.push(outcomeLine('GL only', s.gl.glOnly));
  lines.push('');
  const e = s.exceptions;
  lines.push(
    `Exceptions: ${e.opened} opened, ${e.reopened} reopened, ${e.autoResolved} auto-resolved, ${e.updated} updated; ${e.active} active.`,
  );
  return lines;
}

/** `billops reconcile …` with its dependencies given; prints the summary and returns it. */
export async function reconcileFromCli(argv: string[], deps: ReconcileCliDeps): Promise<ReconcileSummary> {
  const out = deps.out ?? defaultOut;
  const { values, positionals } = parseArgs({
    args: argv,
    options: { from: { type: 'string' }, to: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length) throw new UserError(`Unexpected argument "${positionals[0]}".\nUsage: ${USAGE}`);
  const from = parseDay(values.from, '--from');
  const to = parseDay(values.to, '--to');
  checkRange(from, to);
  const clock = deps.clock ?? systemClock;
  const summary = await reconcile(deps.db.db, {
    file: deps.config.file,
    matching: deps.config.file.matching,
    clock,
    actor: deps.actor ?? cliActor(),
    source: 'cli',
    from,
    to,
  });
  for (const line of describeReconcileSummary(summary, { from, to })) out.line(line);
  const org = deps.config.file.org;
  const digest = await exceptionDigest(deps.db.db, { clock, top: 0, fx: { reportingCurrency: org.reporting_currency, rates: org.fx_rates } });
  if (digest.byKind.length) {
    out.line('Needing a person now, by kind:');
    for (const k of digest.byKind) {
      const amounts = Object.fromEntries(k.amounts.map((a) => [a.currency, a.amount.toString()]));
      out.line(`  ${KIND_LABELS[k.kind].padEnd(28)} ${String(k.count).padStart(5)}   ${formatAmounts(amounts)}`);
    }
  }
  return summary;
}

async function open(): Promise<{ config: Config; db: Db }> {
  const config = loadConfig();
  const db = await connect({ url: config.env.DATABASE_URL, dataDir: `${config.env.BILLOPS_DATA_DIR}/pgdata` });
  try {
    await migrateToLatest(db.db);
  } catch (err) {
    await db.close();
    throw err;
  }
  return { config, db };
}

export const reconcileCommands: CliCommand[] = [
  {
    name: 'reconcile',
    usage: USAGE,
    summary: 'match Stripe against the GL with the configured rules and update the exception queue',
    async run(argv) {
      const { config, db } = await open();
      try {
        await reconcileFromCli(argv, { db, config });
      } finally {
        await db.close();
      }
    },
  },
];

export { open as openCliDatabase };
