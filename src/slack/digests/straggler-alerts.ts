import type { WebClient } from '@slack/web-api';
import { sql } from 'kysely';
import { type HighValueItem, dayIn, highValueStragglers, signalSettings } from '../../exceptions/index.js';
import { type DigestMessage, type StragglerReason, stragglerAlertMessage, stragglerOverflowMessage } from '../blocks/digest.js';
import type { PostingContext } from '../context.js';
import { type Pacer, slackPacer } from './pacer.js';

/**
 * DMs about high-value stragglers (open unmatched items at or over `thresholds.high_value`, open more
 * than 24 hours): to the exception's assignee, or — when no one is assigned, or it is assigned to
 * someone who is not a Slack user (e.g. from the CLI) — to `slack.on_call`. An on-call user group
 * (S…) is expanded with `usergroups.users.list` and every member gets the DM.
 *
 * At most one DM per exception per day in the org time zone, across any number of replicas: before
 * sending, the run inserts `straggler:<exception id>:<day>` into `alert_deliveries` with ON CONFLICT;
 * only the run whose claim went in sends. A send that fails marks the row `failed`, and a later run
 * (the same day) claims it again; a claim left `sending` by a replica that died is taken over after
 * `leaseMinutes`. For a user group the DM counts as delivered when at least one member got it (the
 * members it failed for are reported), so members who got it are not messaged twice.
 *
 * Items with no owner and no on-call are logged and listed in the summary's `unrouted`, never dropped
 * silently. One person gets at most `maxPerRecipient` straggler DMs per run (biggest first) and then
 * one DM saying how many more there are; the rest are not claimed, so nothing is marked as sent that
 * was not.
 */

export interface StragglerAlertOptions {
  pacer?: Pacer;
  /** Straggler DMs per person per run before one "and N more" DM. Default 10. */
  maxPerRecipient?: number;
  /** How long a `sending` claim blocks others before it counts as abandoned. Default 15 minutes. */
  leaseMinutes?: number;
}

/** What a run did, JSON-safe. */
export interface StragglerAlertSummary {
  /** The day (org time zone) the once-a-day rule is counted in. */
  day: string;
  stragglers: number;
  /** Exceptions DMed about by this run. */
  sent: number;
  /** Already DMed today (by this replica or another). */
  alreadySent: number;
  /** Distinct people DMed. */
  recipients: number;
  failed: Array<{ exceptionId: string | null; recipient: string | null; error: string }>;
  /** Exception ids with no owner to DM and no on-call configured. */
  unrouted: string[];
  /** Per person: stragglers beyond `maxPerRecipient`, summed up in one DM. */
  overflow: Array<{ recipient: string; count: number }>;
}

interface Route {
  /** Who counts the per-person cap: the assignee, or `on_call`. */
  key: string;
  users: string[];
  reason: StragglerReason;
}

const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;

function errorText(err: unknown): string {
  const e = err as { data?: { error?: unknown }; message?: unknown };
  if (typeof e?.data?.error === 'string') return e.data.error;
  return err instanceof Error ? err.message : String(err);
}

export async function sendStragglerAlerts(ctx: PostingContext, client: WebClient, opts: StragglerAlertOptions = {}): Promise<StragglerAlertSummary> {
  const now = ctx.clock.now();
  const file = ctx.config.file;
  const s = signalSettings(file);
  const day = dayIn(s.timezone, now);
  const pacer = opts.pacer ?? slackPacer;
  const maxPer = Math.max(1, opts.maxPerRecipient ?? 10);
  const leaseCutoff = new Date(now.getTime() - (opts.leaseMinutes ?? 15) * 60_000);
  const db = ctx.db.db;
  const list = await highValueStragglers(db, s, { clock: { now: () => now } });
  const summary: StragglerAlertSummary = {
    day,
    stragglers: list.total,
    sent: 0,
    alreadySent: 0,
    recipients: 0,
    failed: [],
    unrouted: [],
    overflow: [],
  };
  const reached = new Set<string>();

  // on-call, resolved once per run
  let onCall: string[] | Error | null = null;
  const onCallId = file.slack.on_call;
  if (onCallId && SLACK_USER.test(onCallId)) onCall = [onCallId];
  else if (onCallId) {
    try {
      const res = await client.usergroups.users.list({ usergroup: onCallId });
      onCall = res.users ?? [];
      if (onCall.length === 0) onCall = new Error(`the on-call user group ${onCallId} has no members`);
    } catch (err) {
      onCall = new Error(`looking up the on-call user group ${onCallId} failed: ${errorText(err)}`);
    }
  }

  const route = (item: HighValueItem): Route | Error | null => {
    if (item.assignee && SLACK_USER.test(item.assignee)) return { key: item.assignee, users: [item.assignee], reason: 'assignee' };
    if (onCall === null) return null;
    if (onCall instanceof Error) return onCall;
    return { key: 'on_call', users: onCall, reason: 'on_call' };
  };

  const dmChannels = new Map<string, string>();
  const dm = async (user: string, message: DigestMessage): Promise<{ channel: string; ts: string }> => {
    let channel = dmChannels.get(user);
    if (!channel) {
      const opened = await client.conversations.open({ users: user });
      channel = opened.channel?.id;
      if (!channel) throw new Error(`conversations.open gave no channel for ${user}`);
      dmChannels.set(user, channel);
    }
    await pacer.wait(channel);
    const res = await client.chat.postMessage({ channel, text: message.text, blocks: message.blocks, unfurl_links: false, unfurl_media: false });
    return { channel, ts: res.ts ?? '' };
  };

  /** Claim a delivery; true when this run is the one to send it. */
  const claim = async (key: string, exceptionId: bigint | null, users: string[]): Promise<boolean> => {
    const res = await sql<{ id: bigint }>`
      insert into alert_deliveries as d (dedupe_key, alert, exception_id, day, status, recipients, claimed_at)
      values (${key}, 'straggler_dm', ${exceptionId}, ${day}::date, 'sending', ${users}::text[], ${now})
      on conflict (dedupe_key) do update set status = 'sending', attempts = d.attempts + 1, error = null,
        recipients = excluded.recipients, claimed_at = excluded.claimed_at
      where d.status = 'failed' or (d.status = 'sending' and d.claimed_at < ${leaseCutoff})
      returning d.id`.execute(db);
    return res.rows.length > 0;
  };

  /** Send to every user; the row ends `sent` if anyone got it, `failed` (claimable again) if no one did. */
  const deliver = async (key: string, exceptionId: bigint | null, users: string[], message: DigestMessage): Promise<boolean> => {
    const ok: Array<{ user: string; channel: string; ts: string }> = [];
    const errors: string[] = [];
    for (const user of users) {
      try {
        ok.push({ user, ...(await dm(user, message)) });
      } catch (err) {
        const error = errorText(err);
        errors.push(`${user}: ${error}`);
        summary.failed.push({ exceptionId: exceptionId === null ? null : String(exceptionId), recipient: user, error });
        ctx.logger.warn({ err, exceptionId: exceptionId === null ? null : String(exceptionId), user }, 'straggler DM failed');
      }
    }
    const first = ok[0];
    if (first) {
      for (const o of ok) reached.add(o.user);
      await sql`
        update alert_deliveries set status = 'sent', sent_at = ${ctx.clock.now()}, channel = ${first.channel}, ts = ${first.ts},
          error = ${errors.length ? errors.join('; ') : null}
        where dedupe_key = ${key}`.execute(db);
      return true;
    }
    await sql`update alert_deliveries set status = 'failed', error = ${errors.join('; ')} where dedupe_key = ${key}`.execute(db);
    return false;
  };

  const perRoute = new Map<string, number>();
  const overflow = new Map<string, { route: Route; count: number }>();
  for (const item of list.items) {
    const r = route(item);
    if (r === null) {
      summary.unrouted.push(String(item.id));
      ctx.logger.warn({ exceptionId: String(item.id) }, 'high-value straggler has no owner in Slack and no slack.on_call is configured');
      continue;
    }
    if (r instanceof Error) {
      summary.failed.push({ exceptionId: String(item.id), recipient: onCallId ?? null, error: r.message });
      continue;
    }
    const count = perRoute.get(r.key) ?? 0;
    if (count >= maxPer) {
      const o = overflow.get(r.key) ?? { route: r, count: 0 };
      o.count += 1;
      overflow.set(r.key, o);
      continue;
    }
    // an item already DMed today counts too: a second run the same day does not send the next ten
    perRoute.set(r.key, count + 1);
    const key = `straggler:${item.id}:${day}`;
    if (!(await claim(key, item.id, r.users))) {
      summary.alreadySent += 1;
      continue;
    }
    const message = stragglerAlertMessage(item, { reason: r.reason, now, timezone: s.timezone });
    if (await deliver(key, item.id, r.users, message)) summary.sent += 1;
  }

  for (const [routeKey, o] of overflow) {
    const key = `straggler_overflow:${routeKey}:${day}`;
    summary.overflow.push({ recipient: routeKey === 'on_call' ? (onCallId ?? routeKey) : routeKey, count: o.count });
    if (await claim(key, null, o.route.users)) await deliver(key, null, o.route.users, stragglerOverflowMessage(o.count, file.slack.command));
  }

  summary.recipients = reached.size;
  ctx.logger.info({ stragglers: summary }, 'straggler alerts done');
  return summary;
}
