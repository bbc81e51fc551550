import type { WebClient } from '@slack/web-api';
import {
  type ApprovalDeps,
  type ApprovalRequestView,
  type CreditLedger,
  creditLedger,
  getRequest,
  reasonCodes,
  setRequestMessage,
} from '../../approvals/index.js';
import { type ApprovalRenderOptions, approvalRequestMessage, requesterOutcomeMessage } from '../blocks/index.js';
import type { PostingContext } from '../context.js';
import { slackRoleChecker } from '../roles.js';

/**
 * The Slack side of an approval request's life: the post in the approvals channel, the same message
 * brought up to date in place after every decision and execution, and the DM to the requester when
 * it is done. Used by the listeners (after createRequest / decide) and, as `onSettled`, by the
 * outbox worker and the expiry job.
 */

/** What rendering a request needs: the time, the org's time zone, the reason-code labels. */
export function approvalRenderOptions(ctx: Pick<PostingContext, 'clock' | 'config'>): ApprovalRenderOptions {
  let reasons: Map<string, string>;
  try {
    reasons = new Map(reasonCodes(ctx.config).map((r) => [r.code, r.label]));
  } catch {
    // Without the taxonomy a reason shows as its code, which is still readable.
    reasons = new Map();
  }
  return { now: ctx.clock.now(), timeZone: ctx.config.file.org.timezone, reasons };
}

/** The approvals capability's dependencies, with roles looked up through this Slack client. */
export function approvalDeps(ctx: PostingContext, client: WebClient): ApprovalDeps {
  return { db: ctx.db.db, config: ctx.config, clock: ctx.clock, logger: ctx.logger, roles: slackRoleChecker(client, ctx.config.file.roles) };
}

const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;

/** Statuses the requester hears about by DM. */
const DM_STATUSES = new Set(['executed', 'failed', 'rejected', 'expired']);

/**
 * Message updates for one request run one after another in this process, each rendering the request
 * as the database has it at that moment: two updates racing (a decision and the executor's result)
 * cannot leave the older state on screen.
 */
const updateQueues = new Map<string, Promise<void>>();

function serialized(key: string, work: () => Promise<void>): Promise<void> {
  const previous = updateQueues.get(key) ?? Promise.resolve();
  const next = previous.then(work, work);
  const tail = next.catch(() => undefined);
  updateQueues.set(key, tail);
  void tail.then(() => {
    if (updateQueues.get(key) === tail) updateQueues.delete(key);
  });
  return next;
}

/**
 * Post a pending request in `slack.channels.approvals` and remember where (setRequestMessage).
 * Returns where it went, or null when no channel is configured or the post failed (logged): the
 * request still waits on approvers' Home tabs and `/billing approvals`.
 */
export async function postApprovalRequest(
  client: WebClient,
  ctx: PostingContext,
  r: ApprovalRequestView,
): Promise<{ channel: string; ts: string } | null> {
  const channel = ctx.config.file.slack.channels.approvals;
  if (!channel || r.status !== 'pending') return null;
  try {
    const msg = approvalRequestMessage(r, approvalRenderOptions(ctx));
    const res = await client.chat.postMessage({ channel, text: msg.text, blocks: msg.blocks, unfurl_links: false, unfurl_media: false });
    if (!res.ts) throw new Error('chat.postMessage returned no ts');
    const where = { channel: res.channel ?? channel, ts: res.ts };
    await setRequestMessage(ctx.db.db, r.id, where);
    return where;
  } catch (err) {
    ctx.logger.error({ err, request: r.id, channel }, 'could not post an approval request in the approvals channel');
    return null;
  }
}

/** Re-render the request's approvals-channel message from the database, in place. */
export function refreshApprovalMessage(client: WebClient, ctx: PostingContext, requestId: string): Promise<void> {
  return serialized(requestId, async () => {
    const r = await getRequest(ctx.db.db, requestId);
    if (!r?.message) return;
    const msg = approvalRequestMessage(r, approvalRenderOptions(ctx));
    await client.chat.update({ channel: r.message.channel, ts: r.message.ts, text: msg.text, blocks: msg.blocks });
  });
}

/** DM the requester how their request ended. */
export async function dmRequester(client: WebClient, ctx: PostingContext, r: ApprovalRequestView): Promise<void> {
  const user = r.requestedBy.userId;
  if (!SLACK_USER.test(user)) return;
  const opened = await client.conversations.open({ users: user });
  const channel = opened.channel?.id;
  if (!channel) throw new Error(`conversations.open gave no channel for ${user}`);
  const msg = requesterOutcomeMessage(r, approvalRenderOptions(ctx));
  await client.chat.postMessage({ channel, text: msg.text, blocks: msg.blocks, unfurl_links: false, unfurl_media: false });
}

/**
 * Everything Slack shows after a request changed: its message updated in place, and a DM to the
 * requester when it was executed, failed, rejected or expired. Never throws: a Slack failure is
 * logged, the request's state is already stored.
 */
export async function announceRequestChange(client: WebClient, ctx: PostingContext, r: ApprovalRequestView): Promise<void> {
  await Promise.all([
    refreshApprovalMessage(client, ctx, r.id).catch((err: unknown) => {
      ctx.logger.error({ err, request: r.id }, 'could not update the approval request message');
    }),
    DM_STATUSES.has(r.status)
      ? dmRequester(client, ctx, r).catch((err: unknown) => {
          ctx.logger.error({ err, request: r.id, user: r.requestedBy.userId }, 'could not DM the requester about their request');
        })
      : Promise.resolve(),
  ]);
}

/** `onSettled` for the outbox worker and the expiry job. */
export function approvalNotifier(ctx: PostingContext, client: WebClient): (r: ApprovalRequestView) => Promise<void> {
  return (r) => announceRequestChange(client, ctx, r);
}

/** The customer's credit ledger for the account card, or null (logged) when it cannot be read: the card shows without it. */
export async function ledgerForCard(ctx: PostingContext, customerId: string): Promise<CreditLedger | null> {
  try {
    return await creditLedger(ctx.db.db, customerId);
  } catch (err) {
    ctx.logger.error({ err, customer: customerId }, 'could not read the credit ledger for the account card');
    return null;
  }
}
