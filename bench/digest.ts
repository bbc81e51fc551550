/**
 * `npm run bench -- digest [N] [--rounds=R]`: the daily exception digest over N open exceptions
 * (default 10,000, plus N/2 already resolved over the last weeks so the "resolved since" and drift
 * queries have history to read) on real PostgreSQL. Measured separately and together, R rounds
 * (default 5) after one warm-up: the data queries (`collectDigestData`: counts and amounts by kind,
 * new / resolved since the last digest, high-value items, threshold breach, drift, the items of each
 * kind for the thread) and the Block Kit building (`digestMessages`, pure). Every message built is
 * checked against Slack's Block Kit limits. Baseline, same run: one plain `group by kind, currency`
 * over the open exceptions. Target: the digest built in < 1 s.
 */
import { type Kysely, sql } from 'kysely';
import { parseBillopsYaml, parseEnv } from '../src/config/index.js';
import type { Database } from '../src/db/index.js';
import { collectDigestData, digestMessages } from '../src/slack/digests/index.js';
import { ManualClock, silentLogger } from '../src/util/index.js';
import { validateBlockKit } from '../test/support/block-kit-limits.js';
import { createBenchDb, fmtMs, percentile, say, timed } from './lib.js';

const NOW = new Date('2026-11-04T13:30:00Z');

export async function run(args: string[]): Promise<void> {
  const n = Number(args.find((a) => /^\d+$/.test(a)) ?? 10_000);
  const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.slice('--rounds='.length) ?? 5);
  const db = await createBenchDb('digest');
  try {
    say(`digest benchmark: ${n.toLocaleString('en-US')} open exceptions (+${Math.floor(n / 2).toLocaleString('en-US')} resolved), ${rounds} rounds after a warm-up`);
    const gen = await timed(() => generate(db.db, n));
    await sql`analyze`.execute(db.db);
    say(`  data generated in ${fmtMs(gen.ms)} (not timed below)`);

    const file = parseBillopsYaml(`
org:
  timezone: America/New_York
  reporting_currency: USD
  fx_rates: { EUR: "1.08", GBP: "1.27" }
slack:
  channels: { digest: C0DIGEST1 }
`);
    const ctx = {
      config: { env: parseEnv({}), file, filePath: null },
      db,
      clock: new ManualClock(NOW),
      logger: silentLogger,
    };
    const since = new Date(NOW.getTime() - 86_400_000);
    const baseline: number[] = [];
    const data: number[] = [];
    const blocks: number[] = [];
    const together: number[] = [];
    let last: ReturnType<typeof digestMessages> | undefined;
    for (let r = 0; r <= rounds; r += 1) {
      const b = await timed(() =>
        sql`select kind, currency, count(*), sum(abs(amount)) from exceptions where status in ('open', 'assigned', 'reopened') group by kind, currency`.execute(
          db.db,
        ),
      );
      const d = await timed(() => collectDigestData(ctx, { since }));
      const t0 = performance.now();
      digestMessages(ctx, d.value);
      const buildMs = performance.now() - t0;
      const all = await timed(async () => digestMessages(ctx, await collectDigestData(ctx, { since })));
      last = all.value;
      if (r === 0) continue; // warm-up
      baseline.push(b.ms);
      data.push(d.ms);
      blocks.push(buildMs);
      together.push(all.ms);
    }
    if (!last) throw new Error('no round ran');

    const messages = [last.parent, ...last.thread];
    const violations = messages.flatMap((m, i) => validateBlockKit('message', { text: m.text, blocks: m.blocks }).map((e) => `message ${i}: ${e}`));
    const maxBlocks = Math.max(...messages.map((m) => m.blocks.length));
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    const line = (label: string, xs: number[]) =>
      say(`  ${label.padEnd(34)} median ${fmtMs(percentile(sorted(xs), 50)).padStart(9)}   max ${fmtMs(Math.max(...xs)).padStart(9)}`);
    say('');
    line('data queries (collectDigestData)', data);
    line('block building (digestMessages)', blocks);
    line('together (queries + blocks)', together);
    line('baseline: plain group by', baseline);
    say(`  ratio together / baseline (median): ${(percentile(sorted(together), 50) / percentile(sorted(baseline), 50)).toFixed(1)}×`);
    say(
      `  messages: 1 + ${last.thread.length} in the thread; most blocks in one message ${maxBlocks} (limit 50); ` +
        `Block Kit violations: ${violations.length}`,
    );
    for (const v of violations.slice(0, 5)) say(`    ${v}`);
    const worst = Math.max(...together);
    say('');
    say(`target: digest built in < 1 s: ${worst < 1000 ? 'met' : 'NOT met'} (worst round ${fmtMs(worst)}); within Block Kit limits: ${violations.length === 0 ? 'met' : 'NOT met'}`);
  } finally {
    await db.drop();
  }
}

/**
 * N open exceptions: every kind, USD / EUR / GBP / JPY, all severities, a fifth assigned, a few
 * snoozed (some run out), opened over the last 60 days; N/2 resolved ones opened and resolved over
 * the same span.
 */
async function generate(db: Kysely<Database>, n: number): Promise<void> {
  const kinds = sql`(array['missing_in_gl','missing_in_billing','amount_mismatch','void_not_reflected','duplicate_in_gl',
    'fx_variance_over_tolerance','failed_payment','dispute_open'])`;
  await sql`
    insert into exceptions (dedupe_key, kind, status, severity, amount, currency, customer_id, customer_name, stripe_id, summary,
      assignee, snoozed_until, opened_at, updated_at)
    select 'bench:open:' || i, ${kinds}[1 + i % 8],
      case when i % 50 = 0 then 'snoozed' when i % 5 = 0 then 'assigned' when i % 97 = 0 then 'reopened' else 'open' end,
      (array['low','medium','high','critical'])[1 + (i * 7) % 4],
      (100 + (i::bigint * 7919) % 2500000) * (case when i % 9 = 0 then -1 else 1 end),
      (array['USD','USD','USD','EUR','GBP','JPY'])[1 + i % 6],
      'cus_' || (i % 2000), 'Customer ' || (i % 2000), 'ch_bench' || i, 'Stripe has it, the GL does not',
      case when i % 5 = 0 then 'U0BENCH' || lpad((i % 40)::text, 2, '0') end,
      case when i % 50 = 0 then ${NOW}::timestamptz + make_interval(hours => (i % 200) - 100) end,
      ${NOW}::timestamptz - make_interval(mins => (i * 37) % (60 * 24 * 60)),
      ${NOW}::timestamptz
    from generate_series(1, ${n}) as i`.execute(db);
  await sql`
    insert into exceptions (dedupe_key, kind, status, severity, amount, currency, summary, resolved_at, resolved_by, resolution_code,
      opened_at, updated_at)
    select 'bench:done:' || i, ${kinds}[1 + i % 8], case when i % 3 = 0 then 'resolved' else 'auto_resolved' end, 'medium',
      100 + (i::bigint * 104729) % 900000, (array['USD','EUR','JPY'])[1 + i % 3], 'Stripe has it, the GL does not',
      least(o + make_interval(hours => 1 + i % 300), ${NOW}::timestamptz), 'billops', case when i % 3 = 0 then 'posted_in_gl' end, o, o
    from (select i, ${NOW}::timestamptz - make_interval(mins => (i * 53) % (60 * 24 * 60) + 600) as o from generate_series(1, ${Math.floor(n / 2)}) as i) s`.execute(
    db,
  );
}
