import type { HomeView, KnownBlock } from '@slack/types';
import type { ExceptionPage, QueueHeadline } from '../../exceptions/index.js';
import { formatMoney } from '../../money/index.js';
import { type RenderClock, exceptionSummaryText, isActive } from './exceptions.js';
import { decisionButtons, retryButton } from './approvals.js';
import { age, cut, esc, when, who } from './format.js';
import { exceptionActionButtons } from './ids.js';

/**
 * The App Home tab: the numbers to start the day with, what is assigned to the person, and the
 * approvals waiting for them. Pure. A Home tab holds at most 100 blocks, so both lists are capped
 * and say how many more there are.
 */

/** An approval request waiting for this person's decision. */
export interface HomeApproval {
  id: string;
  /** `Credit $250.00 to Globex (goodwill)` */
  title: string;
  requestedBy: string;
  requestedAt: Date;
  /** More about it, after "Requested by …" (approvals so far, expiry). */
  detail?: string | undefined;
  /** Show Approve / Reject under it. */
  decide?: boolean | undefined;
}

/** One of the person's own requests: where it stands, in mrkdwn. */
export interface HomeRequest {
  id: string;
  text: string;
  /** It failed: offer Retry. */
  retry?: boolean | undefined;
}

export interface HomeInput {
  userId: string;
  headline: QueueHeadline;
  /** The person's open exceptions (the `mine` list), first page. */
  assigned: ExceptionPage;
  approvals: readonly HomeApproval[];
  /** The person's open and recently finished requests (absent: the section is not shown). */
  myRequests?: readonly HomeRequest[] | undefined;
  clock: RenderClock;
  command: string;
  /** What just happened (a failure after an action taken here), shown at the top. */
  notice?: string | undefined;
}

const VIEW_BLOCKS = 100;
/** Blocks besides the lists: title, notice, numbers, run line, 3 dividers, 3 list headers, 3 "none"/"more" lines, footer. */
const HOME_FIXED_BLOCKS = 14;
/** Approvals waiting shown (section + Approve/Reject each); the rest are counted. */
export const HOME_MAX_APPROVALS = 10;
/** The person's own requests shown (one block each). */
export const HOME_MAX_REQUESTS = 8;
/** Assigned exceptions shown (section + buttons each), from what is left of the 100 blocks. */
export const HOME_MAX_ASSIGNED = Math.min(
  25,
  Math.floor((VIEW_BLOCKS - HOME_FIXED_BLOCKS - 2 * HOME_MAX_APPROVALS - HOME_MAX_REQUESTS) / 2),
);

function amountsText(h: QueueHeadline): string {
  if (h.byCurrency.length === 0) return '—';
  const lines = h.byCurrency.map((c) => `${esc(formatMoney({ amount: c.amount, currency: c.currency }))} (${c.count.toLocaleString('en-US')})`);
  return cut(lines.join('\n'), 1900);
}

function runText(h: QueueHeadline, c: RenderClock): string {
  const r = h.lastRun;
  if (!r) return 'Never run yet';
  const at = `${when(r.startedAt, c.timeZone)} (${age(r.startedAt, c.now)} ago)`;
  if (r.status === 'running') return `:hourglass_flowing_sand: Running since ${at}`;
  if (r.status === 'failed') return `:x: Failed ${at}`;
  const found =
    r.matched !== null
      ? `\n${r.matched.toLocaleString('en-US')} matched · ${(r.billingOnly ?? 0).toLocaleString('en-US')} billing-only · ${(r.glOnly ?? 0).toLocaleString('en-US')} GL-only`
      : '';
  return `:white_check_mark: Succeeded ${at}${found}`;
}

export function homeView(input: HomeInput): HomeView {
  const { headline: h, assigned, approvals, clock: c, command } = input;
  const blocks: KnownBlock[] = [{ type: 'header', text: { type: 'plain_text', text: 'billops' } }];
  if (input.notice) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(input.notice, 2900) } });
  blocks.push({
    type: 'section',
    fields: [
      { type: 'mrkdwn', text: `*Open exceptions*\n${h.openCount.toLocaleString('en-US')}` },
      { type: 'mrkdwn', text: `*Unmatched amount*\n${amountsText(h)}` },
      { type: 'mrkdwn', text: `*Oldest open item*\n${h.oldestOpenedAt ? `${age(h.oldestOpenedAt, c.now)} (since ${when(h.oldestOpenedAt, c.timeZone).slice(0, 10)})` : '—'}` },
      { type: 'mrkdwn', text: `*Last reconcile*\n${runText(h, c)}` },
    ],
  });
  if (h.lastRun?.status === 'failed' && h.lastRun.error) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Run #${h.lastRun.id} failed: ${esc(cut(h.lastRun.error, 500))}` }] });
  }

  blocks.push({ type: 'divider' });
  blocks.push({ type: 'header', text: { type: 'plain_text', text: `Assigned to you (${assigned.total.toLocaleString('en-US')})` } });
  const shown = assigned.items.slice(0, HOME_MAX_ASSIGNED);
  if (shown.length === 0) {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `Nothing is assigned to you. \`${command} exceptions\` lists what is open.` }],
    });
  }
  for (const e of shown) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: exceptionSummaryText(e, c) } });
    if (isActive(e)) blocks.push({ type: 'actions', block_id: `home:${e.id}`, elements: exceptionActionButtons(e.id, { unique: true }) });
  }
  if (assigned.total > shown.length) {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `…and ${(assigned.total - shown.length).toLocaleString('en-US')} more: \`${command} exceptions mine\` pages through them all.` }],
    });
  }

  blocks.push({ type: 'divider' });
  blocks.push({ type: 'header', text: { type: 'plain_text', text: 'Approvals waiting for you' } });
  if (approvals.length === 0) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'No approvals waiting.' }] });
  }
  for (const a of approvals.slice(0, HOME_MAX_APPROVALS)) {
    const detail = a.detail ? ` · ${a.detail}` : '';
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: cut(`*${esc(a.title)}*\nRequested by ${who(a.requestedBy)} ${age(a.requestedAt, c.now)} ago${detail}`, 2900) },
    });
    if (a.decide) blocks.push({ type: 'actions', block_id: `home:approval:${a.id}`, elements: decisionButtons(a.id, true) });
  }
  if (approvals.length > HOME_MAX_APPROVALS) {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `…and ${(approvals.length - HOME_MAX_APPROVALS).toLocaleString('en-US')} more waiting: \`${command} approvals\` lists them.` }],
    });
  }
  if (input.myRequests) {
    const mine = input.myRequests;
    blocks.push({ type: 'divider' });
    blocks.push({ type: 'header', text: { type: 'plain_text', text: 'Your requests' } });
    if (mine.length === 0) {
      blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'You have no open or recent requests.' }] });
    }
    for (const r of mine.slice(0, HOME_MAX_REQUESTS)) {
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(r.text, 2900) }, ...(r.retry ? { accessory: retryButton(r.id, true) } : {}) });
    }
    if (mine.length > HOME_MAX_REQUESTS) {
      blocks.push({
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `…and ${(mine.length - HOME_MAX_REQUESTS).toLocaleString('en-US')} more: \`${command} approvals\` lists them.` }],
      });
    }
  }
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `Updated ${when(c.now, c.timeZone)} (${c.timeZone}) · \`${command} help\` for everything else` }],
  });
  return { type: 'home', blocks };
}
