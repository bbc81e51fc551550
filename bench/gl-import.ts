/**
 * `npm run bench -- gl-import [ROWS] [--rounds=N]`: a generic-CSV general ledger of ROWS postings (default
 * 1,000,000; generated once into bench/.data/, about 100 bytes a line) imported into a fresh
 * database on real PostgreSQL through the same service `billops import gl` and Slack use: streaming
 * parse, chunked COPY into the staging table, `insert … select … on conflict (line_key) do nothing`,
 * one transaction, gl_imports and the audit log.
 *
 * Each round (default 2, each on a fresh database) prints the import's wall time, rows/s, this
 * process's peak RSS (sampled every 20 ms) and CPU, and right after it the same-round baseline: a plain
 * `COPY` of the same rows, already encoded, from a file into a table shaped and indexed like
 * gl_entries. This is a shared machine, so each round also prints the load average it started under.
 * Targets: ≤ 15 s and ≤ 300 MB for 1,000,000 rows.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { type Kysely, sql } from 'kysely';
import { from as copyFrom } from 'pg-copy-streams';
import { type GlImportTimings, type LedgerConfig, importGlExport, ledgerConfigSchema, parseGlExport } from '../src/ledger/index.js';
import type { Database } from '../src/db/index.js';
import { copyRow } from '../src/ledger/loader.js';
import { ManualClock } from '../src/util/index.js';
import { createBenchDb, fmtMs, rssSampler, say } from './lib.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DATA = path.join(HERE, '.data');

const LEDGER: LedgerConfig = ledgerConfigSchema.parse({
  generic: {
    mappings: {
      bench: { date: 'Date', account: 'Account', reference: 'Reference', customer: 'Customer', memo: 'Memo', amount: 'Amount', currency: 'Currency' },
    },
  },
});

const ACCOUNTS = [
  'Accounts Receivable (A/R)',
  'Stripe Clearing',
  'Subscription Revenue',
  'Stripe Fees',
  'Operating Checking',
  'Deferred Revenue',
  'Sales Tax Payable',
  'Refunds and Allowances',
];

interface Expected {
  rows: number;
  /** Sum of all amounts, minor units per currency (as strings). */
  sums: Record<string, string>;
}

function files(rows: number) {
  const base = path.join(DATA, `gl-generic-${rows}`);
  return { csv: `${base}.csv`, copy: `${base}.copy`, expected: `${base}.json` };
}

/** The ledger CSV: a header, then ROWS postings; deterministic. */
async function generate(rows: number): Promise<void> {
  const f = files(rows);
  mkdirSync(DATA, { recursive: true });
  const out = createWriteStream(f.csv);
  const sums: Record<string, bigint> = {};
  out.write('Date,Account,Reference,Customer,Memo,Amount,Currency\n');
  let buf = '';
  for (let i = 0; i < rows; i++) {
    const currency = i % 10 === 0 ? 'EUR' : i % 25 === 1 ? 'GBP' : 'USD';
    const cents = BigInt(((i * 7919) % 250_000) + 100) * (i % 3 === 2 ? -1n : 1n);
    sums[currency] = (sums[currency] ?? 0n) + cents;
    const abs = cents < 0n ? -cents : cents;
    const amount = `${cents < 0n ? '-' : ''}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`;
    const day = String((i % 30) + 1).padStart(2, '0');
    const id = String(i).padStart(10, '0');
    const memo = i % 4 === 0 ? `Stripe charge ch_bench${id}AbCd` : i % 4 === 1 ? `"Payout po_bench${id}XyZw, batch ${i % 97}"` : `Invoice INV-${id.slice(4)} service period`;
    buf += `2026-10-${day},${ACCOUNTS[i % ACCOUNTS.length]},INV-${id.slice(4)},Customer ${i % 5000},${memo},${amount},${currency}\n`;
    if (buf.length > 1 << 16) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');

  // The baseline's input: the same rows as COPY text, produced by the importer's own encoder.
  const copy = createWriteStream(f.copy);
  let n = 0;
  let text = '';
  for await (const row of parseGlExport(createReadStream(f.csv), { config: LEDGER })) {
    if (row.kind !== 'entry') throw new Error(row.message);
    text += copyRow(row);
    n++;
    if (text.length > 1 << 16) {
      if (!copy.write(text)) await once(copy, 'drain');
      text = '';
    }
  }
  copy.end(text);
  await once(copy, 'finish');
  if (n !== rows) throw new Error(`generated ${rows} rows but parsed ${n}`);
  const expected: Expected = { rows, sums: Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v.toString()])) };
  writeFileSync(f.expected, JSON.stringify(expected));
}

/** Generation runs in a child process, so its memory never counts toward the import's peak RSS. */
async function ensureData(rows: number): Promise<void> {
  const f = files(rows);
  if (existsSync(f.csv) && existsSync(f.copy) && existsSync(f.expected)) return;
  say(`Generating ${rows.toLocaleString('en-US')} postings into ${path.relative(process.cwd(), f.csv)} (once) …`);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, path.join(HERE, 'run.ts'), 'gl-import', String(rows), '--generate-only'], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`generator exited with ${code}`))));
  });
}

export async function run(args: string[]): Promise<void> {
  const rows = Number(args.find((a) => /^\d+$/.test(a)) ?? 1_000_000);
  if (args.includes('--generate-only')) {
    await generate(rows);
    return;
  }
  await ensureData(rows);
  const f = files(rows);
  const expected = JSON.parse(readFileSync(f.expected, 'utf8')) as Expected;
  const mb = statSync(f.csv).size / (1024 * 1024);
  const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.slice('--rounds='.length) ?? 2);
  say(`GL import benchmark: ${rows.toLocaleString('en-US')} postings, ${mb.toFixed(0)} MB generic CSV, ${rounds} round(s), each on a fresh database`);
  const results: Round[] = [];
  for (let r = 1; r <= rounds; r++) {
    const round = await runRound(rows, f, expected);
    results.push(round);
    say();
    say(`round ${r} — PostgreSQL ${round.server}, load average ${round.load} (other work on this machine competes for its CPUs)`);
    say(`  import      ${fmtMs(round.importMs).padStart(9)}   ${Math.round(rows / (round.importMs / 1000)).toLocaleString('en-US')} rows/s   peak RSS ${round.peakMb.toFixed(0)} MB (${round.rssBeforeMb.toFixed(0)} MB before it started)`);
    say(`              parse + load ${fmtMs(round.timings.load)} (overlapped; parsing waited ${fmtMs(round.timings.waited)} for the database), last chunk ${fmtMs(round.timings.tail)}, commit ${fmtMs(round.timings.commit)}`);
    say(`              this process used ${fmtMs(round.cpuMs)} of CPU (parse, hash, encode, GC); ${round.summary}`);
    say(`  baseline    ${fmtMs(round.copyMs).padStart(9)}   ${Math.round(rows / (round.copyMs / 1000)).toLocaleString('en-US')} rows/s   plain COPY of the same rows, pre-encoded, into a table like gl_entries`);
    say(`  ratio       ${(round.importMs / round.copyMs).toFixed(2)}× the plain COPY`);
  }
  const best = results.reduce((a, b) => (b.importMs < a.importMs ? b : a));
  const peak = Math.max(...results.map((x) => x.peakMb));
  say();
  const ok = best.importMs <= 15_000 && peak <= 300;
  say(
    `${ok ? 'PASS' : 'FAIL'}: best import ${fmtMs(best.importMs)} (target ≤ 15 s; slowest ${fmtMs(Math.max(...results.map((x) => x.importMs)))}), ` +
      `${(best.importMs / best.copyMs).toFixed(2)}× its round's plain COPY; peak RSS ${peak.toFixed(0)} MB over all rounds (target ≤ 300 MB)`,
  );
  if (!ok && rows === 1_000_000) process.exitCode = 1;
}

interface Round {
  server: string;
  load: string;
  importMs: number;
  copyMs: number;
  cpuMs: number;
  peakMb: number;
  rssBeforeMb: number;
  timings: GlImportTimings;
  summary: string;
}

async function runRound(rows: number, f: ReturnType<typeof files>, expected: Expected): Promise<Round> {
  const db = await createBenchDb('gl_import');
  try {
    const server = await serverVersion(db.db);
    const load = loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
    // Both measurements start from a fresh checkpoint, so neither pays for the other's dirty pages.
    await sql`checkpoint`.execute(db.db);
    const rssBeforeMb = process.memoryUsage.rss() / (1024 * 1024);
    const rss = rssSampler(20);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const result = await importGlExport(
      { db, ledger: LEDGER, clock: new ManualClock('2026-11-01T06:00:00Z') },
      {
        input: createReadStream(f.csv, { highWaterMark: 64 * 1024 }),
        fileName: path.basename(f.csv),
        actor: { kind: 'cli', id: 'bench' },
        via: 'cli',
      },
    );
    const importMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    rss.stop();
    if (result.status !== 'imported') throw new Error(`import did not succeed: ${result.status}`);

    // Everything arrived, to the cent.
    const check = await sql<{ currency: string; n: bigint; total: string }>`
      select currency, count(*) as n, sum(amount)::text as total from gl_entries group by currency order by currency`.execute(db.db);
    const got = Object.fromEntries(check.rows.map((r) => [r.currency, r.total]));
    const count = check.rows.reduce((s, r) => s + Number(r.n), 0);
    if (count !== expected.rows || JSON.stringify(got) !== JSON.stringify(Object.fromEntries(Object.entries(expected.sums).sort()))) {
      throw new Error(`gl_entries does not hold the file: ${count} rows, sums ${JSON.stringify(got)} vs ${JSON.stringify(expected.sums)}`);
    }

    // Baseline: a plain COPY of the same rows into a table shaped and indexed like gl_entries.
    await sql`create table gl_copy_baseline (like gl_entries including all)`.execute(db.db);
    await sql`
      alter table gl_copy_baseline
        alter column import_id set default 1, alter column source_system set default 'generic',
        alter column source_file set default 'baseline', alter column created_at set default now()`.execute(db.db);
    await sql`checkpoint`.execute(db.db);
    const client = await (db.pool as NonNullable<typeof db.pool>).connect();
    let copyMs: number;
    try {
      const c0 = performance.now();
      await pipeline(
        createReadStream(f.copy, { highWaterMark: 256 * 1024 }),
        client.query(
          copyFrom(
            'copy gl_copy_baseline (source_line, line_key, entry_date, account, amount, currency, reference, memo, customer_name, external_id, transaction_type, accounting_period, stripe_ids, invoice_numbers) from stdin',
          ),
        ),
      );
      copyMs = performance.now() - c0;
    } finally {
      client.release();
    }
    const s = result.summary;
    return {
      server,
      load,
      importMs,
      copyMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      peakMb: rss.peakMb(),
      rssBeforeMb,
      timings: result.timings,
      summary: `${s.entriesNew.toLocaleString('en-US')} new, ${s.entriesExisting} already there, ${s.accountCount} accounts, ${s.dateFrom} to ${s.dateTo}`,
    };
  } finally {
    await db.drop();
  }
}

async function serverVersion(db: Kysely<Database>): Promise<string> {
  const r = await sql<{ v: string }>`select current_setting('server_version') as v`.execute(db);
  return r.rows[0]?.v ?? '?';
}
