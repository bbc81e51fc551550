import { parseArgs } from 'node:util';
import {
  AGING_BUCKETS,
  type AgingReport,
  type CollectionsRunSummary,
  agingReport,
  clearCollectionsPause,
  collectionsDigest,
  describeAging,
  describeDigest,
  describeRun,
  isAgingBucket,
  pauseCollections,
  planCollections,
  plainTextNotifier,
  runCollections,
  stripeCollectionsClient,
} from '../../collections/index.js';
import type { Config } from '../../config/index.js';
import type { Db } from '../../db/index.js';
import { JOB_BODIES, type JobFactory, runJobOnce } from '../../jobs/index.js';
import { type Money, formatMoney, minorToDecimal } from '../../money/index.js';
import { createStripeClient } from '../../stripe/index.js';
import { type Clock, type Logger, UserError, createLogger, stringifyJson, systemClock } from '../../util/index.js';
import { out as defaultOut } from '../output.js';
import { cliJobs } from './jobs.js';
import { type CliOut, cliActor, openCliDatabase } from './reconcile.js';
import type { CliCommand } from './types.js';

export interface CollectionsCliDeps {
  db: Db;
  config: Config;
  clock?: Clock;
  logger?: Logger;
  out?: CliOut;
}

const USAGE = {
  run: 'billops collections run [--dry-run]',
  aging: 'billops collections aging [--bucket current|1-30|31-60|61-90|90+] [--customer cus_…] [--top N] [--format text|json]',
  pause: 'billops collections pause CUSTOMER YYYY-MM-DD NOTE…',
  resume: 'billops collections resume CUSTOMER [NOTE…]',
  digest: 'billops collections digest',
} as const;

function depsOf(d: CollectionsCliDeps) {
  return { db: d.db.db, config: d.config, clock: d.clock ?? systemClock, logger: d.logger ?? createLogger(d.config.env.LOG_LEVEL, process.stderr) };
}

/** Money as JSON: a major-unit decimal string and the currency (as the exports write amounts). */
function moneyJson(m: Money): { amount: string; currency: string } {
  return { amount: minorToDecimal(m.amount, m.currency), currency: m.currency };
}

export function agingJson(r: AgingReport): unknown {
  const total = (t: { amount: Money; missingRates: string[] } | null) => (t ? { ...moneyJson(t.amount), missing_rates: t.missingRates } : null);
  return {
    as_of: r.asOf,
    timezone: r.timezone,
    reporting_currency: r.reportingCurrency,
    filter: { bucket: r.filter.bucket, customer: r.filter.customerId },
    buckets: r.buckets.map((b) => ({ bucket: b.bucket, invoices: b.count, amounts: b.amounts.map(moneyJson), reporting: total(b.reporting) })),
    total: { invoices: r.total.count, amounts: r.total.amounts.map(moneyJson), reporting: total(r.total.reporting) },
    past_due: { invoices: r.overdue.count, amounts: r.overdue.amounts.map(moneyJson), reporting: total(r.overdue.reporting) },
    top_overdue: r.topOverdue.map((t) => ({
      customer: t.customerId,
      name: t.name,
      amount: moneyJson(t.amount),
      reporting: t.reporting ? moneyJson(t.reporting) : null,
      invoices: t.invoices,
      oldest_days_past_due: t.oldestDaysPastDue,
    })),
    invoices: r.invoices.map((i) => ({
      invoice: i.invoiceId,
      number: i.number,
      customer: i.customerId,
      name: i.customerName,
      amount_remaining: moneyJson(i.amountRemaining),
      due_on: i.dueOn,
      days_past_due: i.daysPastDue,
      bucket: i.bucket,
    })),
  };
}

/** `billops collections aging …` */
export async function agingFromCli(argv: string[], deps: CollectionsCliDeps): Promise<AgingReport> {
  const out = deps.out ?? defaultOut;
  const { values, positionals } = parseArgs({
    args: argv,
    options: { bucket: { type: 'string' }, customer: { type: 'string' }, top: { type: 'string' }, format: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length) throw new UserError(`Unexpected argument "${positionals[0]}".\nUsage: ${USAGE.aging}`);
  if (values.bucket !== undefined && !isAgingBucket(values.bucket)) {
    throw new UserError(`--bucket "${values.bucket}" is not a bucket: use one of ${AGING_BUCKETS.join(', ')}.`);
  }
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UserError(`--format "${format}": use text or json.`);
  let top: number | undefined;
  if (values.top !== undefined) {
    if (!/^\d{1,3}$/.test(values.top) || Number(values.top) < 1) throw new UserError(`--top "${values.top}": a number of accounts from 1 to 999.`);
    top = Number(values.top);
  }
  const customer = values.customer?.trim();
  if (customer !== undefined && !/^cus_[0-9A-Za-z]+$/.test(customer)) throw new UserError(`--customer "${values.customer}" is not a Stripe customer id (cus_…).`);
  const report = await agingReport(depsOf(deps), { bucket: values.bucket as (typeof AGING_BUCKETS)[number] | undefined, customerId: customer, top });
  if (format === 'json') out.line(stringifyJson(agingJson(report), 2));
  else for (const line of describeAging(report)) out.line(line);
  return report;
}

/** `billops collections pause CUSTOMER UNTIL NOTE…` */
export async function pauseFromCli(argv: string[], deps: CollectionsCliDeps): Promise<void> {
  const out = deps.out ?? defaultOut;
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true });
  const [customerId, until, ...note] = positionals;
  if (!customerId || !until || note.length === 0) throw new UserError(`expected a customer, the day they promised to pay by and a note.\nUsage: ${USAGE.pause}`);
  const p = await pauseCollections(depsOf(deps), { customerId, until, note: note.join(' '), actor: cliActor(), source: 'cli' });
  out.line(`Dunning of ${customerId} is paused through ${p.until} (promise to pay #${p.id}); it resumes the day after at the step then due.`);
  out.line(`  note: ${p.note ?? ''}`);
}

/** `billops collections resume CUSTOMER [NOTE…]` */
export async function resumeFromCli(argv: string[], deps: CollectionsCliDeps): Promise<void> {
  const out = deps.out ?? defaultOut;
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true });
  const [customerId, ...note] = positionals;
  if (!customerId) throw new UserError(`expected a customer.\nUsage: ${USAGE.resume}`);
  const p = await clearCollectionsPause(depsOf(deps), { customerId, note: note.join(' '), actor: cliActor(), source: 'cli' });
  out.line(`The promise to pay of ${customerId} (through ${p.until}) is cleared; dunning resumes on the next run.`);
}

/**
 * `billops collections run [--dry-run]`: the collections job once, recorded in the job history like
 * any run (refused while it runs elsewhere). Slack through the bot token, Stripe through the secret key.
 */
export async function runFromCli(argv: string[], deps: CollectionsCliDeps): Promise<CollectionsRunSummary | null> {
  const out = deps.out ?? defaultOut;
  const { values, positionals } = parseArgs({ args: argv, options: { 'dry-run': { type: 'boolean' } }, allowPositionals: true, strict: true });
  if (positionals.length) throw new UserError(`Unexpected argument "${positionals[0]}".\nUsage: ${USAGE.run}`);
  const base = depsOf(deps);
  if (values['dry-run']) {
    const plan = await planCollections(base);
    out.line(`Collections for ${plan.day} (${plan.timezone}), dry run: ${plan.due} step${plan.due === 1 ? '' : 's'} to perform, ${plan.paused} held by a pause. Nothing was done.`);
    for (const p of plan.items) {
      const held = p.paused ? ` — on hold (${p.paused === 'dispute' ? 'open dispute' : 'promise to pay'})` : '';
      const retry = p.stepStatus === 'failed' ? ` (retry, ${p.attempts} attempt${p.attempts === 1 ? '' : 's'} so far)` : '';
      out.line(`  ${(p.invoiceNumber ?? p.invoiceId).padEnd(14)} ${p.step.label} (${p.segment})${retry} — ${formatMoney(p.amountRemaining)}, due ${p.dueOn}${held}`);
    }
    return null;
  }
  let summary: CollectionsRunSummary | null = null;
  // The job as `billops serve` runs it, keeping the full summary for printing.
  const collections: JobFactory = (jd) => {
    if (!jd.slack) return { unavailable: 'SLACK_BOT_TOKEN is not set (use --dry-run to see what it would do)' };
    const notifier = plainTextNotifier(jd.slack);
    return async (ctx) => {
      summary = await runCollections({
        ...base,
        db: ctx.db,
        notifier,
        stripe: () => {
          if (!deps.config.env.STRIPE_SECRET_KEY) throw new Error('STRIPE_SECRET_KEY is not set: Stripe cannot send the invoice');
          return stripeCollectionsClient(createStripeClient(deps.config));
        },
        actor: ctx.actor,
        source: 'cli',
        signal: ctx.signal,
      });
      const { outcomes, ...counts } = summary;
      return { ...counts, steps: outcomes.length };
    };
  };
  const jobs = cliJobs({ db: deps.db, config: deps.config, clock: base.clock, logger: base.logger, bodies: { ...JOB_BODIES, collections } });
  const def = jobs.definitions.get('collections');
  if (!def?.run) throw new UserError(`The collections job cannot run here: ${def?.unavailable ?? 'it has no body'}.`);
  const res = await runJobOnce(jobs, 'collections', jobs.clock.now(), 'cli', { actor: cliActor(), context: { via: 'billops collections run' } });
  if (res.status === 'already_running') throw new UserError(`The collections job is already running (on ${res.running.replicaId}); not starting another.`);
  if (res.status === 'failed') throw new UserError(`The collections job failed (job run #${res.runId}, error id ${res.errorId}): ${res.message}`);
  if (res.status !== 'succeeded' || !summary) throw new Error('the collections job did not run');
  for (const line of describeRun(summary)) out.line(line);
  out.line(`(job run #${res.runId})`);
  return summary;
}

export async function digestFromCli(argv: string[], deps: CollectionsCliDeps): Promise<void> {
  const out = deps.out ?? defaultOut;
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true });
  if (positionals.length) throw new UserError(`Unexpected argument "${positionals[0]}".\nUsage: ${USAGE.digest}`);
  for (const line of describeDigest(await collectionsDigest(depsOf(deps)))) out.line(line);
}

function command(name: keyof typeof USAGE, summary: string, run: (argv: string[], deps: CollectionsCliDeps) => Promise<unknown>): CliCommand {
  return {
    name: `collections ${name}`,
    usage: USAGE[name],
    summary,
    async run(argv) {
      const { config, db } = await openCliDatabase();
      try {
        await run(argv, { db, config });
      } finally {
        await db.close();
      }
    },
  };
}

export const collectionsCommands: CliCommand[] = [
  command('run', 'perform the dunning steps due today (the collections job once); --dry-run shows them without acting', runFromCli),
  command('aging', 'AR aging: buckets by days past due, totals per currency, top overdue accounts', agingFromCli),
  command('pause', "pause an account's dunning until a day it promised to pay by", pauseFromCli),
  command('resume', 'clear a promise-to-pay pause; dunning resumes on the next run', resumeFromCli),
  command('digest', "today's dunning digest as plain text (steps, escalations, holds, aging)", digestFromCli),
];
