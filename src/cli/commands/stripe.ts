import { createReadStream, existsSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Presets, SingleBar } from 'cli-progress';
import type { Actor } from '../../audit/index.js';
import { type Config, loadConfig } from '../../config/index.js';
import { type Db, connect, migrateToLatest } from '../../db/index.js';
import { formatMoney } from '../../money/index.js';
import { type BackfillProgress, createStripeClient, describeStripeData, importStripeReport, runBackfill } from '../../stripe/index.js';
import { UserError, createLogger } from '../../util/index.js';
import { out } from '../output.js';
import type { CliCommand } from './types.js';

function cliActor(): Actor {
  let name = 'cli';
  try {
    name = userInfo().username || name;
  } catch {
    // no passwd entry (a container with an arbitrary uid)
  }
  return { kind: 'cli', id: name };
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

/** `--since 2026-10-01` (UTC midnight) or a full ISO timestamp. */
export function parseSince(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  const m = /^\d{4}-\d{2}-\d{2}$/.test(t) ? `${t}T00:00:00Z` : t;
  const d = new Date(m);
  if (!/^\d{4}-\d{2}-\d{2}/.test(t) || Number.isNaN(d.getTime())) {
    throw new UserError(`--since "${text}" is not a date (expected YYYY-MM-DD, or an ISO timestamp such as 2026-10-01T00:00:00Z)`);
  }
  return d;
}

function progressBar(): { onProgress: (p: BackfillProgress) => void; stop: () => void } {
  // A bar only for a person watching; cron and CI logs get the summary alone.
  if (!process.stderr.isTTY) return { onProgress: () => undefined, stop: () => undefined };
  const bar = new SingleBar(
    {
      format: 'Stripe backfill |{bar}| {value}/{total} lists · {step}: {fetched} objects, {changed} changed',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    },
    Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress: (p) => {
      const payload = { step: p.step.replace(/_/g, ' '), fetched: p.fetched, changed: p.changed };
      if (!started) {
        bar.start(p.steps, p.index, payload);
        started = true;
      }
      bar.update(p.index + (p.stepDone ? 1 : 0), payload);
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

export const stripeCommands: CliCommand[] = [
  {
    name: 'stripe backfill',
    usage: 'billops stripe backfill [--since DATE]',
    summary: 'copy Stripe objects (customers … payouts, balance transactions with fees and FX) into billops; resumable',
    async run(argv) {
      const { values } = parseArgs({ args: argv, options: { since: { type: 'string' } }, strict: true });
      const since = parseSince(values.since);
      const { config, db } = await open();
      const logger = createLogger(config.env.LOG_LEVEL, process.stderr);
      const abort = new AbortController();
      const onSigint = () => {
        if (abort.signal.aborted) process.exit(130);
        out.error('\nStopping after the page in hand (Ctrl-C again to quit now); run the command again to resume.');
        abort.abort();
      };
      process.on('SIGINT', onSigint);
      const bar = progressBar();
      try {
        const res = await runBackfill({
          db: db.db,
          stripe: createStripeClient(config),
          actor: cliActor(),
          since,
          pageSize: config.file.stripe.backfill_page_size,
          rateLimitRetries: config.file.stripe.backfill_rate_limit_retries,
          signal: abort.signal,
          onProgress: bar.onProgress,
          logger,
        });
        bar.stop();
        const fetched = Object.values(res.steps).reduce((s, c) => s + c.fetched, 0);
        const changed = Object.values(res.steps).reduce((s, c) => s + c.changed, 0);
        out.line(
          `Stripe backfill run ${res.runId} ${res.resumed ? 'resumed and ' : ''}completed${since ? ` (objects created since ${since.toISOString().slice(0, 10)})` : ''}: ` +
            `${fetched} objects fetched, ${changed} new or changed${res.rateLimited ? `; waited out ${res.rateLimited} rate limit(s)` : ''}.`,
        );
        for (const [step, c] of Object.entries(res.steps)) out.line(`  ${step.replace(/_/g, ' ').padEnd(22)} ${String(c.fetched).padStart(7)} fetched ${String(c.changed).padStart(7)} changed`);
      } finally {
        bar.stop();
        process.off('SIGINT', onSigint);
        await db.close();
      }
    },
  },
  {
    name: 'import stripe-report',
    usage: 'billops import stripe-report FILE',
    summary: 'import Stripe\'s "Balance change from activity — itemized" CSV (all rows or none)',
    async run(argv) {
      const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true });
      const file = positionals[0];
      if (!file || positionals.length > 1) throw new UserError('expected one FILE: billops import stripe-report FILE');
      if (!existsSync(file) || !statSync(file).isFile()) throw new UserError(`${file}: no such file`);
      const { db } = await open();
      try {
        const res = await importStripeReport({
          db: db.db,
          source: createReadStream(file),
          fileName: path.basename(file),
          actor: cliActor(),
          from: 'cli',
        });
        out.line(`Imported ${file} (import ${res.importId}): ${res.rows} rows${res.replaced ? `, ${res.replaced} replacing rows of an earlier import` : ''}.`);
        for (const t of res.totals) {
          const m = (amount: bigint) => formatMoney({ amount, currency: t.currency });
          out.line(`  ${t.currency}  ${String(t.rows).padStart(6)} rows   gross ${m(t.gross)}   fees ${m(t.fee)}   net ${m(t.net)}`);
        }
      } finally {
        await db.close();
      }
    },
  },
  {
    name: 'stripe status',
    usage: 'billops stripe status',
    summary: 'what billops holds from Stripe: the webhook event queue and each normalized table',
    async run() {
      const { db } = await open();
      try {
        for (const line of await describeStripeData(db.db, new Date())) out.line(line);
      } finally {
        await db.close();
      }
    },
  },
];
