import type { WebClient } from '@slack/web-api';
import type { KnownBlock } from '@slack/types';
import { z } from 'zod';
import type { Actor } from '../../audit/index.js';
import { type ExceptionPage, type ExceptionView, type FxOrdering, listExceptions, queueHeadline } from '../../exceptions/index.js';
import { listAwaitingDecision, listOpenRequestsBy } from '../../approvals/index.js';
import { approvalDeps, approvalRenderOptions } from '../approvals/index.js';
import {
  EXCEPTION_FILTERS,
  EXCEPTION_LIST_PAGE_SIZE,
  HOME_MAX_ASSIGNED,
  type ExceptionFilter,
  type ExceptionListQuery,
  type HomeApproval,
  type HomeRequest,
  type RenderClock,
  exceptionListMessage,
  homeMineText,
  homeView,
  waitingDetail,
  outcomeNotice,
  parseListItemBlockId,
  replaceExceptionInMessage,
} from '../blocks/index.js';
import type { SlackContext } from '../context.js';
import { describeFailure } from '../errors.js';

/**
 * What the exception listeners (the slash command, the buttons, the modals, the Home tab) share:
 * where an action came from and how to bring that place up to date afterwards, the list as a
 * message, the Home tab, and how to tell the person something.
 */

export function renderClock(ctx: SlackContext): RenderClock {
  return { now: ctx.clock.now(), timeZone: ctx.config.file.org.timezone };
}

export function fxOrdering(ctx: SlackContext): FxOrdering {
  return { reportingCurrency: ctx.config.file.org.reporting_currency, rates: ctx.config.file.org.fx_rates };
}

export function slackActor(user: { id: string; username?: string | undefined; name?: string | undefined }): Actor {
  const name = user.username ?? user.name;
  return { kind: 'slack_user', id: user.id, ...(name ? { name } : {}) };
}

// ---------------------------------------------------------------------------------------------
// The list
// ---------------------------------------------------------------------------------------------

function listFilter(filter: ExceptionFilter): { status: 'open' | 'mine'; kind?: Exclude<ExceptionFilter, 'open' | 'mine'> } {
  if (filter === 'open' || filter === 'mine') return { status: filter };
  return { status: 'open', kind: filter };
}

/** One page of a list, for the person `userId` (`mine`). `clamp`: a page past the end shows the last one. */
export async function loadList(ctx: SlackContext, query: ExceptionListQuery, userId: string, clamp: boolean): Promise<ExceptionPage> {
  const base = { ...listFilter(query.filter), me: userId, pageSize: EXCEPTION_LIST_PAGE_SIZE, clock: ctx.clock, fx: fxOrdering(ctx) };
  const result = await listExceptions(ctx.db.db, { ...base, page: query.page });
  if (clamp && query.page > result.pages) return listExceptions(ctx.db.db, { ...base, page: result.pages });
  return result;
}

export async function listMessage(ctx: SlackContext, query: ExceptionListQuery, userId: string, notice?: string) {
  const result = await loadList(ctx, query, userId, true);
  return exceptionListMessage({
    query: { ...query, page: result.page },
    result,
    clock: renderClock(ctx),
    command: ctx.config.file.slack.command,
    notice,
  });
}

export const listQuerySchema = z.object({
  filter: z.enum(EXCEPTION_FILTERS as [ExceptionFilter, ...ExceptionFilter[]]),
  page: z.number().int().min(1).max(1_000_000),
});

// ---------------------------------------------------------------------------------------------
// Home tab
// ---------------------------------------------------------------------------------------------

/** Requests fetched for the Home tab's lists (more than are shown, so "and N more" can count). */
const HOME_APPROVALS_FETCH = 50;

/** The approvals waiting for the person and their own requests, as the Home tab lists them. */
async function homeApprovals(client: WebClient, ctx: SlackContext, userId: string): Promise<{ approvals: HomeApproval[]; myRequests: HomeRequest[] }> {
  const deps = approvalDeps(ctx, client);
  const [awaiting, mine] = await Promise.all([listAwaitingDecision(deps, userId, HOME_APPROVALS_FETCH), listOpenRequestsBy(ctx.db.db, userId, HOME_APPROVALS_FETCH, ctx.clock)]);
  const o = approvalRenderOptions(ctx);
  return {
    approvals: awaiting.map((r) => ({
      id: r.id,
      title: r.title,
      requestedBy: r.requestedBy.userId,
      requestedAt: r.requestedAt,
      detail: waitingDetail(r, o),
      decide: true,
    })),
    myRequests: mine.map((r) => ({ id: r.id, text: homeMineText(r, o), retry: r.status === 'failed' })),
  };
}

/** Publish the person's Home tab as it is now. */
export async function publishHome(client: WebClient, ctx: SlackContext, userId: string, notice?: string): Promise<void> {
  const [headline, assigned, approvals] = await Promise.all([
    queueHeadline(ctx.db.db, ctx.clock),
    listExceptions(ctx.db.db, { status: 'mine', me: userId, pageSize: HOME_MAX_ASSIGNED, clock: ctx.clock, fx: fxOrdering(ctx) }),
    homeApprovals(client, ctx, userId).catch((err: unknown) => {
      // The rest of the tab is still worth showing; the approvals lists say they could not be read.
      ctx.logger.error({ err, user: userId }, 'could not list approvals for the Home tab');
      return null;
    }),
  ]);
  const unavailable = ':warning: Approvals could not be listed just now; open the tab again in a moment.';
  const view = homeView({
    userId,
    headline,
    assigned,
    approvals: approvals?.approvals ?? [],
    myRequests: approvals?.myRequests ?? [],
    clock: renderClock(ctx),
    command: ctx.config.file.slack.command,
    notice: approvals ? notice : [notice, unavailable].filter(Boolean).join('\n'),
  });
  await client.views.publish({ user_id: userId, view });
}

// ---------------------------------------------------------------------------------------------
// Where an action came from
// ---------------------------------------------------------------------------------------------

/**
 * The place a button was clicked: a message in a channel or DM (updated with chat.update), an
 * ephemeral message (only its response_url can replace it), or the Home tab (republished). The
 * block id says whether the button sat in a list, and which.
 */
export const originSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('message'), channel: z.string().min(1), ts: z.string().min(1), blockId: z.string() }),
  z.object({ kind: z.literal('ephemeral'), channel: z.string().min(1), responseUrl: z.url(), blockId: z.string() }),
  z.object({ kind: z.literal('home') }),
]);
export type Origin = z.infer<typeof originSchema>;

/** What a modal carries from the click to the submission (Slack's private_metadata, ≤ 3000 characters). */
export const modalMetadataSchema = z.object({ id: z.string().regex(/^\d{1,18}$/), origin: originSchema });
export type ModalMetadata = z.infer<typeof modalMetadataSchema>;

export function encodeMetadata(m: ModalMetadata): string {
  return JSON.stringify(m);
}

export function decodeMetadata(raw: string): ModalMetadata {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error('modal private_metadata is not JSON');
  }
  return modalMetadataSchema.parse(parsed);
}

/** POST to a response_url (ephemeral messages can only be changed this way). Throws when Slack refuses. */
export async function postToResponseUrl(url: string, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    throw new Error(`response_url answered HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
  await res.body?.cancel();
}

const historySchema = z.object({
  messages: z.array(z.object({ ts: z.string(), text: z.string().optional(), blocks: z.array(z.record(z.string(), z.unknown())).optional() })).optional(),
});

/** A message's current text and blocks (for a message billops posted in a channel or DM). */
async function fetchMessage(client: WebClient, channel: string, ts: string): Promise<{ text: string | undefined; blocks: KnownBlock[] } | null> {
  const res = historySchema.parse(await client.conversations.history({ channel, latest: ts, oldest: ts, inclusive: true, limit: 1 }));
  const m = res.messages?.find((x) => x.ts === ts);
  if (!m?.blocks) return null;
  return { text: m.text, blocks: m.blocks as unknown as KnownBlock[] };
}

export interface Refresh {
  client: WebClient;
  ctx: SlackContext;
  origin: Origin;
  userId: string;
  exception: ExceptionView;
  action: 'assigned' | 'resolved' | 'snoozed';
  /** The message as the click payload carried it (saves fetching it). */
  message?: { text: string | undefined; blocks: KnownBlock[] } | undefined;
}

/**
 * Bring the place the person acted from up to date: the list re-rendered (same filter and page), or
 * the one exception's buttons replaced with where it stands now, or the Home tab republished.
 * The Home tab is republished in every case (it lists what is assigned to the person).
 */
export async function refreshOrigin(r: Refresh): Promise<void> {
  const { client, ctx, origin, userId, exception: e } = r;
  const clock = renderClock(ctx);
  const notice = outcomeNotice(r.action, e, clock);
  if (origin.kind === 'home') {
    await publishHome(client, ctx, userId, notice);
    return;
  }
  const list = parseListItemBlockId(origin.blockId);
  if (origin.kind === 'ephemeral') {
    if (list) {
      const msg = await listMessage(ctx, list.query, userId, notice);
      await postToResponseUrl(origin.responseUrl, { replace_original: true, response_type: 'ephemeral', ...msg });
    } else {
      // An ephemeral message billops cannot see again: say what happened under it.
      await postToResponseUrl(origin.responseUrl, { replace_original: false, response_type: 'ephemeral', text: notice, blocks: [noticeBlock(notice)] });
    }
  } else if (list) {
    const msg = await listMessage(ctx, list.query, userId, notice);
    await client.chat.update({ channel: origin.channel, ts: origin.ts, text: msg.text, blocks: msg.blocks });
  } else {
    const current = r.message ?? (await fetchMessage(client, origin.channel, origin.ts));
    if (current) {
      const blocks = replaceExceptionInMessage(current.blocks, origin.blockId, e, clock);
      await client.chat.update({ channel: origin.channel, ts: origin.ts, blocks, ...(current.text ? { text: current.text } : {}) });
    } else {
      await client.chat.postEphemeral({ channel: origin.channel, user: userId, text: notice, blocks: [noticeBlock(notice)] });
    }
  }
  await publishHome(client, ctx, userId).catch((err: unknown) => {
    // The person already sees the outcome where they acted; a stale Home tab refreshes when they open it.
    ctx.logger.warn({ err, user: userId }, 'could not republish the Home tab after an exception action');
  });
}

function noticeBlock(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 2900) } };
}

/** Tell the person something where they acted (a problem, or what happened). Throws only if every way fails. */
export async function tellPerson(client: WebClient, ctx: SlackContext, origin: Origin, userId: string, msg: { text: string; blocks: KnownBlock[] }): Promise<void> {
  if (origin.kind === 'home') {
    try {
      await publishHome(client, ctx, userId, msg.text);
    } catch (err) {
      ctx.logger.warn({ err, user: userId }, 'could not show a notice on the Home tab; sending it as a DM');
      await client.chat.postMessage({ channel: userId, text: msg.text, blocks: msg.blocks });
    }
    return;
  }
  if (origin.kind === 'ephemeral') {
    try {
      await postToResponseUrl(origin.responseUrl, { replace_original: false, response_type: 'ephemeral', ...msg });
      return;
    } catch (err) {
      ctx.logger.warn({ err, user: userId }, 'response_url refused; answering with chat.postEphemeral');
    }
  }
  await client.chat.postEphemeral({ channel: origin.channel, user: userId, text: msg.text, blocks: msg.blocks });
}

/** Report a failure to the person (describeFailure: a UserError as is, anything else logged with an id). */
export async function reportFailure(
  client: WebClient,
  ctx: SlackContext,
  origin: Origin,
  userId: string,
  err: unknown,
  context: Record<string, unknown>,
  done?: string,
): Promise<void> {
  const msg = describeFailure(err, ctx.logger, { user: userId, ...context }, done);
  try {
    await tellPerson(client, ctx, origin, userId, msg);
  } catch (tellErr) {
    ctx.logger.error({ err: tellErr, original: err instanceof Error ? err.message : String(err), user: userId }, 'could not tell the person about a failure');
  }
}

export function isListFilter(word: string): word is ExceptionFilter {
  return (EXCEPTION_FILTERS as readonly string[]).includes(word);
}
