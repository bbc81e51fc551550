import type { WebClient } from '@slack/web-api';
import type { KnownBlock } from '@slack/types';
import { type ApprovalRequestView, type SlackOrigin, listAwaitingDecision, listOpenRequestsBy } from '../../approvals/index.js';
import { APPROVALS_LIST_MAX, approvalsListMessage, requestCreatedMessage } from '../blocks/index.js';
import type { SlackContext } from '../context.js';
import { approvalDeps, approvalRenderOptions, postApprovalRequest } from '../approvals/index.js';
import { type Origin, postToResponseUrl, publishHome, tellPerson } from './exception-surfaces.js';

/**
 * What the approval listeners (commands, buttons, modals) share: who acted from where, what the
 * requester is told after submitting, the `/billing approvals` list, and answering the person where
 * they clicked.
 */

/** The person and the place, for the request's audit context. */
export function slackOrigin(user: { id: string; username?: string | undefined; name?: string | undefined; team_id?: string | undefined }, origin: Origin): SlackOrigin {
  const name = user.username ?? user.name;
  return {
    userId: user.id,
    ...(name ? { userName: name } : {}),
    ...(user.team_id ? { teamId: user.team_id } : {}),
    ...(origin.kind === 'home' ? {} : { channelId: origin.channel }),
    ...(origin.kind === 'message' ? { messageTs: origin.ts } : {}),
  };
}

/** Block ids of the `/billing approvals` list's buttons start with this. */
export const LIST_BLOCK_PREFIX = 'list:approval:';

/** `/billing approvals` for `userId`, as it is now. */
export async function approvalsList(client: WebClient, ctx: SlackContext, userId: string, notice?: string) {
  const deps = approvalDeps(ctx, client);
  const [awaiting, mine] = await Promise.all([
    listAwaitingDecision(deps, userId, APPROVALS_LIST_MAX + 40),
    listOpenRequestsBy(ctx.db.db, userId, APPROVALS_LIST_MAX + 40, ctx.clock),
  ]);
  return approvalsListMessage({ awaiting, mine, notice }, approvalRenderOptions(ctx));
}

function noticeMessage(text: string): { text: string; blocks: KnownBlock[] } {
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 2900) } }] };
}

/**
 * Tell the person what happened where they clicked: the Home tab republished with it on top, the
 * `/billing approvals` list replaced by a fresh one under it, or — on a message (the approvals
 * channel post, a DM) — an ephemeral answer only they see. `quietOn` is a message that already
 * shows the outcome (the request's own post, just updated): nothing more is said there.
 */
export async function answerClicker(
  client: WebClient,
  ctx: SlackContext,
  origin: Origin,
  userId: string,
  notice: string,
  quietOn?: { channel: string; ts: string } | null,
): Promise<void> {
  if (origin.kind === 'home') {
    await publishHome(client, ctx, userId, notice);
    return;
  }
  if (origin.kind === 'ephemeral' && origin.blockId.startsWith(LIST_BLOCK_PREFIX)) {
    const msg = await approvalsList(client, ctx, userId, notice);
    await postToResponseUrl(origin.responseUrl, { replace_original: true, response_type: 'ephemeral', ...msg });
    return;
  }
  if (origin.kind === 'message' && quietOn && quietOn.channel === origin.channel && quietOn.ts === origin.ts) return;
  await tellPerson(client, ctx, origin, userId, noticeMessage(notice));
}

/**
 * After createRequest: a pending request is posted in the approvals channel; an approved one (within
 * policy) is handed to the outbox worker at once. The requester is told which, where they acted.
 */
export async function afterRequestCreated(client: WebClient, ctx: SlackContext, r: ApprovalRequestView, origin: Origin, userId: string): Promise<void> {
  const posted = r.status === 'pending' ? await postApprovalRequest(client, ctx, r) : null;
  if (r.status === 'approved') ctx.approvals?.nudge();
  const msg = requestCreatedMessage(r, {
    ...approvalRenderOptions(ctx),
    channel: ctx.config.file.slack.channels.approvals ?? null,
    posted: posted !== null,
    command: ctx.config.file.slack.command,
  });
  if (origin.kind === 'home') {
    await publishHome(client, ctx, userId, msg.text);
    return;
  }
  await tellPerson(client, ctx, origin, userId, msg);
}
