import type { WebClient } from '@slack/web-api';
import { sql } from 'kysely';
import {
  exceptionDigest,
  exceptionFlow,
  highValueExceptions,
  listExceptions,
  MAX_PAGE_SIZE,
  signalSettings,
  thresholdBreach,
  unmatchedDrift,
} from '../../exceptions/index.js';
import { UserError } from '../../util/index.js';
import { type DigestData, type DigestMessage, exceptionDigestMessage, exceptionDigestThread } from '../blocks/digest.js';
import type { PostingContext, SlackContext } from '../context.js';
import { type Pacer, slackPacer } from './pacer.js';

/**
 * The daily exception digest: one message in `slack.channels.digest` with the numbers and callouts,
 * the items by kind in its thread. Each attempt is a `digest_posts` row; the last posted one's `as_of`
 * is where the next digest's "new since" and "resolved since" start, so nothing falls between two
 * digests or is counted twice. Posts are paced to Slack's per-channel rate; a 429 that still happens
 * is waited out and retried by the WebClient.
 */

const DIGEST_KIND = 'exceptions';

export interface ExceptionDigestOptions {
  pacer?: Pacer;
  /** Items of each kind in the thread. Default 20, at most 100. */
  perKind?: number;
  /** Items per thread message. Default 10, at most 20. */
  itemsPerMessage?: number;
  /** High-value items (with buttons) in the channel message. Default 5. */
  highValueItems?: number;
  /** Thread messages at most. Default 20. */
  maxThreadMessages?: number;
}

/** What a run did, JSON-safe (for `job_runs.summary` and logs). */
export interface ExceptionDigestSummary {
  digestId: string;
  channel: string;
  ts: string;
  asOf: string;
  /** The previous digest's as-of; null when this is the first. */
  since: string | null;
  open: number;
  newSince: number;
  resolvedSince: number;
  highValue: number;
  stragglers: number;
  breach: boolean;
  drift: boolean;
  threadMessages: number;
  itemsInThread: number;
}

export class DigestPostError extends Error {
  override readonly name = 'DigestPostError';
  constructor(
    readonly channel: string,
    readonly posted: number,
    readonly planned: number,
    cause: unknown,
  ) {
    super(`Posting the exception digest to ${channel} failed after ${posted} of ${planned} messages: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

type DataContext = Pick<PostingContext, 'config' | 'db' | 'clock'>;

/** The digest's numbers and items, as of now. All set-based queries; nothing per exception. */
export async function collectDigestData(ctx: DataContext, o: { since: Date | null; perKind?: number; highValueItems?: number }): Promise<DigestData> {
  const asOf = ctx.clock.now();
  const clock = { now: () => asOf };
  const db = ctx.db.db;
  const s = signalSettings(ctx.config.file);
  const fx = { reportingCurrency: s.reportingCurrency, rates: s.fxRates };
  const perKind = Math.max(1, Math.min(o.perKind ?? 20, MAX_PAGE_SIZE));
  const counts = await exceptionDigest(db, { clock, top: 0, fx });
  const [flow, highValue, breach, drift, detail] = await Promise.all([
    exceptionFlow(db, { from: o.since ?? new Date(asOf.getTime() - 86_400_000), to: asOf }),
    highValueExceptions(db, s, { clock, limit: o.highValueItems ?? 5 }),
    thresholdBreach(db, s, { clock }),
    unmatchedDrift(db, s, { clock }),
    Promise.all(
      counts.byKind.map(async (k) => {
        const page = await listExceptions(db, { status: 'open', kind: k.kind, pageSize: perKind, clock, fx });
        return { kind: k.kind, label: k.label, total: page.total, items: page.items };
      }),
    ),
  ]);
  return { asOf, timezone: s.timezone, since: o.since, counts, flow, highValue, breach, drift, detail };
}

/** The messages a digest of `data` posts: the channel message, then the thread. Pure. */
export function digestMessages(ctx: Pick<SlackContext, 'config'>, data: DigestData, o: ExceptionDigestOptions = {}): { parent: DigestMessage; thread: DigestMessage[] } {
  const layout = {
    command: ctx.config.file.slack.command,
    ...(o.highValueItems === undefined ? {} : { highValueItems: o.highValueItems }),
    ...(o.itemsPerMessage === undefined ? {} : { itemsPerMessage: o.itemsPerMessage }),
    ...(o.maxThreadMessages === undefined ? {} : { maxThreadMessages: o.maxThreadMessages }),
  };
  return { parent: exceptionDigestMessage(data, layout), thread: exceptionDigestThread(data, layout) };
}

async function lastDigestAsOf(ctx: DataContext): Promise<Date | null> {
  const r = await sql<{ as_of: Date }>`
    select as_of from digest_posts where kind = ${DIGEST_KIND} and status = 'posted' order by as_of desc limit 1`.execute(ctx.db.db);
  return r.rows[0]?.as_of ?? null;
}

export async function postExceptionDigest(ctx: PostingContext, client: WebClient, opts: ExceptionDigestOptions = {}): Promise<ExceptionDigestSummary> {
  const configured = ctx.config.file.slack.channels.digest;
  if (!configured) {
    throw new UserError('No digest channel is configured: set slack.channels.digest in billops.yml to a channel id (C…) and invite billops to it.');
  }
  const pacer = opts.pacer ?? slackPacer;
  const db = ctx.db.db;
  const since = await lastDigestAsOf(ctx);
  const data = await collectDigestData(ctx, {
    since,
    ...(opts.perKind === undefined ? {} : { perKind: opts.perKind }),
    ...(opts.highValueItems === undefined ? {} : { highValueItems: opts.highValueItems }),
  });
  const { parent, thread } = digestMessages(ctx, data, opts);
  const started = ctx.clock.now();
  const row = await sql<{ id: bigint }>`
    insert into digest_posts (kind, channel, as_of, since, status, started_at)
    values (${DIGEST_KIND}, ${configured}, ${data.asOf}, ${since}, 'posting', ${started}) returning id`.execute(db);
  const digestId = row.rows[0]?.id;
  if (digestId === undefined) throw new Error('digest_posts insert returned no id');

  let posted = 0;
  let ts = '';
  try {
    await pacer.wait(configured);
    const top = await client.chat.postMessage({ channel: configured, text: parent.text, blocks: parent.blocks, unfurl_links: false, unfurl_media: false });
    posted += 1;
    ts = top.ts ?? '';
    if (!ts) throw new Error('chat.postMessage answered without a ts');
    const channel = top.channel ?? configured;
    await sql`update digest_posts set ts = ${ts} where id = ${digestId}`.execute(db);
    for (const page of thread) {
      await pacer.wait(channel);
      await client.chat.postMessage({ channel, thread_ts: ts, text: page.text, blocks: page.blocks, unfurl_links: false, unfurl_media: false });
      posted += 1;
    }
  } catch (err) {
    const failure = new DigestPostError(configured, posted, thread.length + 1, err);
    await sql`
      update digest_posts set status = 'failed', error = ${failure.message}, thread_messages = ${Math.max(0, posted - 1)},
        finished_at = ${ctx.clock.now()}
      where id = ${digestId}`.execute(db);
    ctx.logger.error({ err, digestId: String(digestId), posted }, 'exception digest failed');
    throw failure;
  }

  const summary: ExceptionDigestSummary = {
    digestId: String(digestId),
    channel: configured,
    ts,
    asOf: data.asOf.toISOString(),
    since: since?.toISOString() ?? null,
    open: data.counts.open,
    newSince: data.flow.opened.count,
    resolvedSince: data.flow.resolved.count,
    highValue: data.highValue.total,
    stragglers: data.highValue.stragglers,
    breach: data.breach.breached,
    drift: data.drift.drifting,
    threadMessages: thread.length,
    itemsInThread: thread.reduce((a, m) => a + m.blocks.filter((b) => b.block_id?.startsWith('digest_item:')).length, 0),
  };
  await sql`
    update digest_posts set status = 'posted', thread_messages = ${thread.length}, summary = ${JSON.stringify(summary)}::jsonb,
      finished_at = ${ctx.clock.now()}
    where id = ${digestId}`.execute(db);
  ctx.logger.info({ digest: summary }, 'exception digest posted');
  return summary;
}
