import type { ActionsBlock, Button, KnownBlock, ModalView, PlainTextOption } from '@slack/types';
import type { AuditRecord } from '../../audit/index.js';
import {
  EXCEPTION_KINDS,
  type ExceptionKind,
  type ExceptionPage,
  type ExceptionView,
  KIND_LABELS,
  MAX_NOTE_LENGTH,
  MAX_SNOOZE_DAYS,
  RESOLUTION_CODES,
  type ResolutionCode,
} from '../../exceptions/index.js';
import { formatMoney } from '../../money/index.js';
import { age, cut, esc, plural, when, who } from './format.js';
import { ACTION, VIEW, actionIdFor, exceptionActionButtons } from './ids.js';

/**
 * The exception queue in Slack: the paged list `/billing exceptions` answers with, one exception's
 * details, and the Resolve / Snooze modals. Pure: plain data in, Block Kit out, within Slack's limits
 * (≤ 50 blocks a message, ≤ 100 a modal, section text ≤ 3000 characters, action and block ids unique).
 */

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

/** What `/billing exceptions` lists: what still needs a person, what is yours, or one kind. */
export type ExceptionFilter = 'open' | 'mine' | ExceptionKind;
export const EXCEPTION_FILTERS: readonly ExceptionFilter[] = ['open', 'mine', ...EXCEPTION_KINDS];

export interface ExceptionListQuery {
  filter: ExceptionFilter;
  /** 1-based. */
  page: number;
}

/** Where the time and dates are read: "now" and the organisation's time zone. */
export interface RenderClock {
  now: Date;
  timeZone: string;
}

const MESSAGE_BLOCKS = 50;
/** Blocks a list message has besides its items: headline, notice, pager, footer. */
const LIST_FIXED_BLOCKS = 4;
/** Section, buttons, divider. */
const BLOCKS_PER_ITEM = 3;
/** What reads well on a screen; the block budget allows a little more. */
const PREFERRED_PAGE_SIZE = 10;
/** Items on one page of the list: as many as read well, never more than a message can hold. */
export const EXCEPTION_LIST_PAGE_SIZE = Math.min(PREFERRED_PAGE_SIZE, Math.floor((MESSAGE_BLOCKS - LIST_FIXED_BLOCKS) / BLOCKS_PER_ITEM));

/** Section text stays under Slack's 3000 characters with room for markup. */
const SECTION_CHARS = 2900;

export const RESOLUTION_LABELS: Record<ResolutionCode, string> = {
  posted_in_gl: 'Posted in the GL',
  corrected_in_gl: 'Corrected in the GL',
  corrected_in_stripe: 'Corrected in Stripe',
  timing_difference: 'Timing difference',
  expected_difference: 'Expected difference',
  duplicate_removed: 'Duplicate removed',
  written_off: 'Written off',
  not_an_issue: 'Not an issue',
};

/** Block and action ids inside the two modals (field errors are keyed by block id). */
export const RESOLVE_FIELDS = { codeBlock: 'resolution_code', codeAction: 'code', noteBlock: 'resolution_note', noteAction: 'note' } as const;
export const SNOOZE_FIELDS = { untilBlock: 'snooze_until', untilAction: 'until' } as const;

// ---------------------------------------------------------------------------------------------
// Ids that carry context: a list item's buttons say which list they sit in.
// ---------------------------------------------------------------------------------------------

const LIST_BLOCK = /^exl:([a-z_]+):(\d{1,7}):(\d{1,18})$/;

/** The block id of a list item's buttons: the list (filter, page) and the exception. */
export function listItemBlockId(q: ExceptionListQuery, id: bigint): string {
  return `exl:${q.filter}:${q.page}:${id}`;
}

/** The list a button sat in, when it sat in one. */
export function parseListItemBlockId(blockId: string | undefined): { query: ExceptionListQuery; id: bigint } | null {
  const m = blockId ? LIST_BLOCK.exec(blockId) : null;
  if (!m?.[1] || !m[2] || !m[3]) return null;
  const filter = m[1] as ExceptionFilter;
  if (!EXCEPTION_FILTERS.includes(filter)) return null;
  return { query: { filter, page: Number(m[2]) }, id: BigInt(m[3]) };
}

/** The pager buttons' value: the list query and the page to show. */
export function pagerValue(q: ExceptionListQuery): string {
  return JSON.stringify({ filter: q.filter, page: q.page });
}

// ---------------------------------------------------------------------------------------------
// One exception as a line of text
// ---------------------------------------------------------------------------------------------

const SEVERITY_ICON = { critical: ':red_circle:', high: ':large_orange_circle:', medium: ':large_yellow_circle:', low: ':white_circle:' } as const;

export function amountText(e: Pick<ExceptionView, 'amount' | 'currency'>): string {
  return formatMoney({ amount: e.amount, currency: e.currency });
}

/** Where the exception stands, in words: `Assigned to <@U…>`, `Snoozed until 2026-11-20`, `Resolved by <@U…> (posted_in_gl)`. */
export function statusText(e: ExceptionView, c: RenderClock): string {
  switch (e.status) {
    case 'open':
      return 'Open';
    case 'assigned':
      return `Assigned to ${who(e.assignee)}`;
    case 'snoozed':
      if (e.snoozeExpired || !e.snoozedUntil) return `Snooze ran out${e.assignee ? ` · assigned to ${who(e.assignee)}` : ''}`;
      return `Snoozed until ${when(e.snoozedUntil, c.timeZone).slice(0, 10)}${e.assignee ? ` · assigned to ${who(e.assignee)}` : ''}`;
    case 'reopened':
      return `Reopened${e.assignee ? ` · assigned to ${who(e.assignee)}` : ''}`;
    case 'resolved':
      return `Resolved by ${who(e.resolvedBy)}${e.resolutionCode ? ` (${RESOLUTION_LABELS[e.resolutionCode] ?? e.resolutionCode})` : ''}`;
    case 'auto_resolved':
      return 'Resolved automatically (the reconciliation found its counterpart)';
  }
}

function customerText(e: ExceptionView): string | null {
  if (e.customerName && e.customerId) return `${esc(cut(e.customerName, 80))} (\`${esc(e.customerId)}\`)`;
  if (e.customerName) return esc(cut(e.customerName, 80));
  if (e.customerId) return `\`${esc(e.customerId)}\``;
  return null;
}

function referenceText(e: ExceptionView): string | null {
  const parts: string[] = [];
  if (e.stripeId) parts.push(`Stripe \`${esc(e.stripeId)}\``);
  else if (e.reference) parts.push(`ref \`${esc(cut(e.reference, 80))}\``);
  if (e.glSource) parts.push(`GL \`${esc(cut(e.glSource, 120))}\``);
  return parts.length ? parts.join(' · ') : null;
}

/** The lines a list shows for one exception. */
export function exceptionSummaryText(e: ExceptionView, c: RenderClock): string {
  const first = `*#${e.id} · ${esc(e.kindLabel)}* — *${esc(amountText(e))}*`;
  const second = [customerText(e), referenceText(e)].filter((x): x is string => x !== null).join(' · ');
  const third = `${SEVERITY_ICON[e.severity]} ${e.severity} · ${statusText(e, c)} · opened ${age(e.openedAt, c.now)} ago`;
  const summary = e.summary ? `_${esc(cut(e.summary, 300))}_` : '';
  return cut([first, second, third, summary].filter(Boolean).join('\n'), SECTION_CHARS);
}

/** Still needs a person (and so still has buttons). */
export function isActive(e: ExceptionView): boolean {
  return e.status !== 'resolved' && e.status !== 'auto_resolved';
}

// ---------------------------------------------------------------------------------------------
// The list
// ---------------------------------------------------------------------------------------------

export function filterTitle(filter: ExceptionFilter): string {
  if (filter === 'open') return 'Open exceptions';
  if (filter === 'mine') return 'Your open exceptions';
  return `Open exceptions: ${KIND_LABELS[filter]}`;
}

export interface ExceptionListInput {
  query: ExceptionListQuery;
  result: ExceptionPage;
  clock: RenderClock;
  /** The slash command, for the footer hint (`/billing`). */
  command: string;
  /** What just happened (after an action), shown above the list. */
  notice?: string | undefined;
}

export function exceptionListMessage(input: ExceptionListInput): SlackMessage {
  const { query, result, clock, command } = input;
  const title = filterTitle(query.filter);
  const blocks: KnownBlock[] = [];
  const headline =
    result.total === 0
      ? `*${title}*: none. :tada:`
      : `*${title}*: ${plural(result.total, 'exception')}${result.pages > 1 ? ` · page ${result.page} of ${result.pages}` : ''}`;
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: headline } });
  if (input.notice) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: cut(input.notice, SECTION_CHARS) }] });
  result.items.slice(0, EXCEPTION_LIST_PAGE_SIZE).forEach((e, i) => {
    if (i > 0) blocks.push({ type: 'divider' });
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: exceptionSummaryText(e, clock) } });
    if (isActive(e)) {
      blocks.push({ type: 'actions', block_id: listItemBlockId(query, e.id), elements: exceptionActionButtons(e.id, { unique: true }) });
    }
  });
  const pager: Button[] = [];
  if (result.page > 1) {
    pager.push({
      type: 'button',
      action_id: actionIdFor(ACTION.exceptionPage, 'prev'),
      text: { type: 'plain_text', text: `◀ Page ${result.page - 1}` },
      value: pagerValue({ ...query, page: result.page - 1 }),
    });
  }
  if (result.page < result.pages) {
    pager.push({
      type: 'button',
      action_id: actionIdFor(ACTION.exceptionPage, 'next'),
      text: { type: 'plain_text', text: `Page ${result.page + 1} ▶` },
      value: pagerValue({ ...query, page: result.page + 1 }),
    });
  }
  if (pager.length) blocks.push({ type: 'actions', block_id: 'exl_pager', elements: pager });
  const filterWord = query.filter === 'open' ? '' : ` ${query.filter}`;
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `Critical first, then the biggest amounts. \`${command} exceptions${filterWord} <page>\` jumps to a page; \`${command} exceptions mine\` shows yours.`,
      },
    ],
  });
  const text =
    result.total === 0
      ? `${title}: none.`
      : `${title}: ${plural(result.total, 'exception')}${result.pages > 1 ? ` (page ${result.page} of ${result.pages})` : ''}`;
  return { text: input.notice ? `${input.notice}\n${text}` : text, blocks };
}

// ---------------------------------------------------------------------------------------------
// One exception after an action, on a message that is not a list (a digest, a DM alert)
// ---------------------------------------------------------------------------------------------

/**
 * The same message with the exception's buttons (the block `blockId`) brought up to date: a line
 * saying where it stands now, and the buttons again while it still needs a person.
 */
export function replaceExceptionInMessage(blocks: readonly KnownBlock[], blockId: string, e: ExceptionView, c: RenderClock): KnownBlock[] {
  const stateId = `${blockId}:state`.slice(0, 255);
  const state: KnownBlock = {
    type: 'context',
    block_id: stateId,
    elements: [{ type: 'mrkdwn', text: cut(`*#${e.id}*: ${statusText(e, c)}`, SECTION_CHARS) }],
  };
  const out: KnownBlock[] = [];
  for (const b of blocks) {
    if (b.block_id === stateId) continue;
    if (b.block_id === blockId && b.type === 'actions') {
      out.push(state);
      if (isActive(e)) out.push({ ...(b as ActionsBlock) });
      continue;
    }
    out.push(b);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Details
// ---------------------------------------------------------------------------------------------

const HISTORY_VERBS: Record<string, string> = {
  'exception.opened': 'opened',
  'exception.assigned': 'assigned',
  'exception.snoozed': 'snoozed',
  'exception.resolved': 'resolved',
  'exception.auto_resolved': 'resolved automatically',
  'exception.reopened': 'reopened',
};

function field(after: unknown, key: string): string | null {
  if (after === null || typeof after !== 'object') return null;
  const v = (after as Record<string, unknown>)[key];
  return typeof v === 'string' && v ? v : null;
}

/** One audit entry as a line of the exception's history. */
export function historyLine(r: AuditRecord, c: RenderClock): string {
  const verb = HISTORY_VERBS[r.action] ?? r.action;
  const by = r.actor.kind === 'slack_user' ? who(r.actor.id) : `${esc(r.actor.id)} (${r.actor.kind})`;
  let extra = '';
  if (r.action === 'exception.assigned') extra = ` to ${who(field(r.after, 'assignee'))}`;
  if (r.action === 'exception.snoozed') {
    const until = field(r.after, 'snoozed_until');
    if (until) extra = ` until ${when(new Date(until), c.timeZone).slice(0, 10)}`;
  }
  if (r.action === 'exception.resolved') {
    const code = field(r.after, 'resolution_code');
    const note = field(r.after, 'resolution_note');
    extra = `${code ? ` (${code})` : ''}${note ? `: “${esc(cut(note, 200))}”` : ''}`;
  }
  if (r.action === 'exception.reopened') {
    const note = field(r.after, 'note');
    if (note) extra = `: “${esc(cut(note, 200))}”`;
  }
  return `• ${when(r.occurredAt, c.timeZone)} · ${verb}${extra} · by ${by}`;
}

/** Everything about one exception: ids, where it came from, where it stands, and its history. */
export function exceptionDetailsBlocks(e: ExceptionView, history: readonly AuditRecord[], c: RenderClock): KnownBlock[] {
  const fields = [
    `*Amount*\n${esc(amountText(e))}`,
    `*Status*\n${statusText(e, c)}`,
    `*Severity*\n${SEVERITY_ICON[e.severity]} ${e.severity}`,
    `*Customer*\n${customerText(e) ?? '—'}`,
    `*Billing record*\n${e.billingRecordKey ? `\`${esc(e.billingRecordKey)}\`` : '—'}${e.stripeId ? `\nStripe \`${esc(e.stripeId)}\`` : ''}`,
    `*GL entry*\n${e.glSource ? `\`${esc(cut(e.glSource, 300))}\`` : '—'}${e.glLineKey ? `\nline key \`${esc(cut(e.glLineKey, 120))}\`` : ''}`,
    `*Reference*\n${e.reference ? `\`${esc(cut(e.reference, 200))}\`` : '—'}`,
    `*Opened*\n${when(e.openedAt, c.timeZone)} (${age(e.openedAt, c.now)} ago)`,
  ];
  if (e.resolutionCode || e.resolutionNote) {
    fields.push(`*Resolution*\n${e.resolutionCode ?? ''}${e.resolutionNote ? `: ${esc(cut(e.resolutionNote, 1500))}` : ''}`);
  }
  const historyLines = history.map((r) => historyLine(r, c));
  let historyText = '';
  let shown = 0;
  // newest last; when it does not fit, keep the newest
  for (let i = historyLines.length - 1; i >= 0; i--) {
    const line = historyLines[i] ?? '';
    if (historyText.length + line.length + 60 > SECTION_CHARS) break;
    historyText = historyText ? `${line}\n${historyText}` : line;
    shown++;
  }
  const omitted = historyLines.length - shown;
  const blocks: KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: cut(`*Exception #${e.id} · ${esc(e.kindLabel)}*\n${esc(e.summary)}`, SECTION_CHARS) } },
    { type: 'section', fields: fields.map((t) => ({ type: 'mrkdwn' as const, text: cut(t, 1900) })) },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*History*\n${omitted > 0 ? `_${plural(omitted, 'earlier entry', 'earlier entries')} not shown_\n` : ''}${historyText || '_nothing recorded_'}`,
      },
    },
  ];
  if (isActive(e)) blocks.push({ type: 'actions', block_id: `exd:${e.id}`, elements: exceptionActionButtons(e.id, { details: false }) });
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text:
          `exception id ${e.id} · version ${e.version} · updated ${when(e.updatedAt, c.timeZone)}` +
          `${e.billingRecordId !== null ? ` · billing record id ${e.billingRecordId}` : ''}${e.glEntryId !== null ? ` · GL entry id ${e.glEntryId}` : ''}` +
          ` · times in ${c.timeZone}`,
      },
    ],
  });
  return blocks;
}

export function exceptionDetailsMessage(e: ExceptionView, history: readonly AuditRecord[], c: RenderClock): SlackMessage {
  return {
    text: `Exception #${e.id} (${e.kindLabel}, ${amountText(e)}): ${statusText(e, c).replace(/<@([A-Z0-9]+)>/g, '@$1')}`,
    blocks: exceptionDetailsBlocks(e, history, c),
  };
}

/** The same details in a modal (from the Home tab, where there is no message to answer under). */
export function exceptionDetailsModal(e: ExceptionView, history: readonly AuditRecord[], c: RenderClock): ModalView {
  return {
    type: 'modal',
    title: { type: 'plain_text', text: cut(`Exception #${e.id}`, 24) },
    close: { type: 'plain_text', text: 'Close' },
    // Buttons in a modal would act on a view that is about to be stale; the Home tab carries them.
    blocks: exceptionDetailsBlocks(e, history, c).filter((b) => b.type !== 'actions'),
  };
}

// ---------------------------------------------------------------------------------------------
// Modals
// ---------------------------------------------------------------------------------------------

function option(text: string, value: string): PlainTextOption {
  return { text: { type: 'plain_text', text: cut(text, 75) }, value };
}

export function resolveModal(e: ExceptionView, privateMetadata: string, c: RenderClock, opts: { needsApproval?: boolean } = {}): ModalView {
  const approval: KnownBlock[] = opts.needsApproval
    ? [
        {
          type: 'context',
          elements: [
            {
              type: 'mrkdwn',
              text: ':lock: This is a high-value exception: submitting sends an approval request, and it is resolved once an approver approves it.',
            },
          ],
        },
      ]
    : [];
  return {
    type: 'modal',
    callback_id: VIEW.exceptionResolve,
    private_metadata: privateMetadata,
    title: { type: 'plain_text', text: cut(`Resolve #${e.id}`, 24) },
    submit: { type: 'plain_text', text: opts.needsApproval ? 'Request approval' : 'Resolve' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      ...approval,
      { type: 'section', text: { type: 'mrkdwn', text: exceptionSummaryText(e, c) } },
      {
        type: 'input',
        block_id: RESOLVE_FIELDS.codeBlock,
        label: { type: 'plain_text', text: 'How was it resolved?' },
        element: {
          type: 'static_select',
          action_id: RESOLVE_FIELDS.codeAction,
          placeholder: { type: 'plain_text', text: 'Resolution code' },
          options: RESOLUTION_CODES.map((code) => option(RESOLUTION_LABELS[code], code)),
        },
      },
      {
        type: 'input',
        block_id: RESOLVE_FIELDS.noteBlock,
        label: { type: 'plain_text', text: 'Note' },
        hint: { type: 'plain_text', text: `What was done, for whoever looks at this later (up to ${MAX_NOTE_LENGTH} characters).` },
        element: { type: 'plain_text_input', action_id: RESOLVE_FIELDS.noteAction, multiline: true, max_length: MAX_NOTE_LENGTH },
      },
    ],
  };
}

export function snoozeModal(e: ExceptionView, privateMetadata: string, c: RenderClock & { suggested: string }): ModalView {
  return {
    type: 'modal',
    callback_id: VIEW.exceptionSnooze,
    private_metadata: privateMetadata,
    title: { type: 'plain_text', text: cut(`Snooze #${e.id}`, 24) },
    submit: { type: 'plain_text', text: 'Snooze' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: exceptionSummaryText(e, c) } },
      {
        type: 'input',
        block_id: SNOOZE_FIELDS.untilBlock,
        label: { type: 'plain_text', text: 'Snooze until' },
        hint: {
          type: 'plain_text',
          text: `It comes back at the start of that day (${c.timeZone}). At most ${MAX_SNOOZE_DAYS} days ahead.`,
        },
        element: { type: 'datepicker', action_id: SNOOZE_FIELDS.untilAction, initial_date: c.suggested },
      },
    ],
  };
}

/** Field errors are plain text: a `<@U…>` mention would show as markup there. */
export function plainMentions(text: string, names: ReadonlyMap<string, string> = new Map()): string {
  return text.replace(/<@([UW][A-Z0-9]+)>/g, (_m, id: string) => `@${names.get(id) ?? id}`);
}

/** What a person did, as the line shown above the refreshed list. */
export function outcomeNotice(action: 'assigned' | 'resolved' | 'snoozed', e: ExceptionView, c: RenderClock): string {
  return `:white_check_mark: #${e.id} ${action === 'assigned' ? 'is now' : 'is'} ${statusText(e, c).replace(/^./, (s) => s.toLowerCase())}.`;
}
