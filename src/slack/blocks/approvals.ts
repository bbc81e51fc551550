import type { ActionsBlock, Button, KnownBlock, ModalView, PlainTextOption } from '@slack/types';
import type { AccountSubscription, OpenInvoice } from '../../accounts/index.js';
import {
  ACTION_LABELS,
  type ActionParams,
  type ApprovalAction,
  type ApprovalRequestView,
  PAUSE_BEHAVIORS,
  type PauseBehavior,
  type RequestStatus,
} from '../../approvals/index.js';
import { formatMoney } from '../../money/index.js';
import { age, cut, esc, plural, when, who } from './format.js';
import { ACTION, VIEW, actionIdFor } from './ids.js';

/**
 * Money actions and their approvals in Slack: the modal each action opens, the request as the
 * approvals channel shows it (Approve / Reject, then who decided and what Stripe did), the DM the
 * requester gets, the reject modal, and `/billing approvals`. Pure: plain data in, Block Kit out,
 * within Slack's limits (≤ 50 blocks a message, ≤ 100 a modal, modal title ≤ 24 characters, option
 * text ≤ 75, section text ≤ 3000).
 */

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

export interface ApprovalRenderOptions {
  now: Date;
  timeZone: string;
  /** Reason code → label (`reasonCodes(config)`), to show a credit's reason in words. */
  reasons?: ReadonlyMap<string, string>;
}

/** The actions a person starts from a modal (resolving an exception starts from the Resolve modal). */
export type MoneyAction = Exclude<ApprovalAction, 'resolve_exception'>;
export const MONEY_ACTIONS: readonly MoneyAction[] = [
  'credit',
  'extend_trial',
  'pause_collection',
  'resume_collection',
  'cancel_at_period_end',
  'undo_cancel',
  'void_invoice',
  'mark_uncollectible',
];

export function isMoneyAction(word: string): word is MoneyAction {
  return (MONEY_ACTIONS as readonly string[]).includes(word);
}

const SECTION_CHARS = 2900;
const OPTION_CHARS = 75;
/** Options in one select (Slack's limit is 100). */
export const MAX_CHOICES = 100;
/** A note or a rejection reason (plain_text_input max_length). */
export const MAX_NOTE_CHARS = 2000;

/** Modal titles (≤ 24 characters) and submit labels. */
const MODAL_TITLE: Record<MoneyAction, string> = {
  credit: 'Apply credit',
  extend_trial: 'Extend trial',
  pause_collection: 'Pause collection',
  resume_collection: 'Resume collection',
  cancel_at_period_end: 'Cancel at period end',
  undo_cancel: 'Undo cancellation',
  void_invoice: 'Void invoice',
  mark_uncollectible: 'Write off invoice',
};

/** Button text on the account card. */
export const BUTTON_TEXT: Record<MoneyAction, string> = {
  credit: 'Apply credit',
  extend_trial: 'Extend trial',
  pause_collection: 'Pause collection',
  resume_collection: 'Resume collection',
  cancel_at_period_end: 'Cancel at period end',
  undo_cancel: 'Undo cancel',
  void_invoice: 'Void invoice',
  mark_uncollectible: 'Write off invoice',
};

const PAUSE_TEXT: Record<PauseBehavior, string> = {
  keep_as_draft: 'Keep new invoices as drafts',
  mark_uncollectible: 'Mark new invoices uncollectible',
  void: 'Void new invoices',
};

// ---------------------------------------------------------------------------------------------
// Modal fields: block ids (field errors are keyed by them) and which modal has which
// ---------------------------------------------------------------------------------------------

/**
 * Block id of each field a money-action modal can have; the keys are the field names
 * ApprovalInputError uses, and each input's action id is its field name (action ids must be unique
 * within a view).
 */
export const MONEY_FIELD_BLOCKS = {
  subscription: 'money_subscription',
  invoice: 'money_invoice',
  amount: 'money_amount',
  currency: 'money_currency',
  reason: 'money_reason',
  days: 'money_days',
  trial_end: 'money_trial_end',
  behavior: 'money_behavior',
  resumes_at: 'money_resumes_at',
  note: 'money_note',
} as const;
export type MoneyField = keyof typeof MONEY_FIELD_BLOCKS;

/** The inputs of each modal, top to bottom. */
export const MODAL_FIELDS: Record<MoneyAction, readonly MoneyField[]> = {
  credit: ['amount', 'currency', 'reason', 'note'],
  extend_trial: ['subscription', 'days', 'trial_end', 'note'],
  pause_collection: ['subscription', 'behavior', 'resumes_at', 'note'],
  resume_collection: ['subscription', 'note'],
  cancel_at_period_end: ['subscription', 'note'],
  undo_cancel: ['subscription', 'note'],
  void_invoice: ['invoice', 'note'],
  mark_uncollectible: ['invoice', 'note'],
};

/**
 * The block an error about `field` is shown on: the field's own block when this modal has it,
 * otherwise the modal's first input (an error keyed by a block the modal lacks would not show).
 */
export function fieldBlockFor(action: MoneyAction, field: string | undefined): string {
  const fields = MODAL_FIELDS[action];
  const own = fields.find((f) => f === field);
  return MONEY_FIELD_BLOCKS[own ?? fields[0] ?? 'note'];
}

// ---------------------------------------------------------------------------------------------
// Which subscriptions and invoices an action fits (for the card's buttons and the modal's choices)
// ---------------------------------------------------------------------------------------------

const LIVE = new Set(['active', 'trialing', 'past_due', 'unpaid']);

/** The subscriptions `action` can apply to, as the card shows them. */
export function subscriptionsFor(action: MoneyAction, subs: readonly AccountSubscription[]): AccountSubscription[] {
  const live = (s: AccountSubscription) => LIVE.has(s.status);
  switch (action) {
    case 'extend_trial':
      return subs.filter((s) => s.status === 'trialing');
    case 'pause_collection':
      return subs.filter((s) => live(s) && !s.collectionPaused);
    case 'resume_collection':
      return subs.filter((s) => s.collectionPaused !== null);
    case 'cancel_at_period_end':
      return subs.filter((s) => live(s) && !s.cancelAtPeriodEnd);
    case 'undo_cancel':
      return subs.filter((s) => live(s) && s.cancelAtPeriodEnd);
    default:
      return [];
  }
}

/** The unpaid invoices `action` can apply to: void takes open or uncollectible ones, write-off open ones. */
export function invoicesFor(action: MoneyAction, invoices: readonly OpenInvoice[]): OpenInvoice[] {
  if (action === 'void_invoice') return invoices.filter((i) => i.status === 'open' || i.status === 'uncollectible');
  if (action === 'mark_uncollectible') return invoices.filter((i) => i.status === 'open');
  return [];
}

export function isSubscriptionAction(action: MoneyAction): boolean {
  return MODAL_FIELDS[action].includes('subscription');
}

export function isInvoiceAction(action: MoneyAction): boolean {
  return MODAL_FIELDS[action].includes('invoice');
}

// ---------------------------------------------------------------------------------------------
// The modal
// ---------------------------------------------------------------------------------------------

export interface MoneyModalInitial {
  subscriptionId?: string | undefined;
  invoiceId?: string | undefined;
  /** As typed (`250`, `1,000.50`). */
  amount?: string | undefined;
  currency?: string | undefined;
  reasonCode?: string | undefined;
  days?: string | undefined;
  /** YYYY-MM-DD */
  trialEnd?: string | undefined;
}

export interface MoneyModalInput {
  action: MoneyAction;
  customer: { id: string; label: string };
  privateMetadata: string;
  timeZone: string;
  /** The subscriptions to choose from (already those the action fits). */
  subscriptions?: readonly AccountSubscription[];
  /** The invoices to choose from (already those the action fits). */
  invoices?: readonly OpenInvoice[];
  /** Credit: the currencies offered, the customer's first. */
  currencies?: readonly string[];
  /** Credit: the reason-code taxonomy. */
  reasons?: ReadonlyArray<{ code: string; label: string }>;
  initial?: MoneyModalInitial;
}

function option(text: string, value: string): PlainTextOption {
  return { text: { type: 'plain_text', text: cut(text, OPTION_CHARS) }, value };
}

function day(at: Date, timeZone: string): string {
  return when(at, timeZone).slice(0, 10);
}

function words(code: string): string {
  return code.replace(/_/g, ' ');
}

/** `Business · trialing until 2026-11-15 · sub_…` for a select option. */
export function subscriptionChoiceText(s: AccountSubscription, timeZone: string): string {
  const state =
    s.status === 'trialing' && s.trialEnd
      ? `trialing until ${day(s.trialEnd, timeZone)}`
      : s.cancelAtPeriodEnd && s.currentPeriodEnd
        ? `cancels ${day(s.currentPeriodEnd, timeZone)}`
        : s.collectionPaused
          ? `collection paused${s.collectionPaused.resumesAt ? ` until ${day(s.collectionPaused.resumesAt, timeZone)}` : ''}`
          : words(s.status);
  const id = ` · ${s.id}`;
  return `${cut(`${s.plan} · ${state}`, OPTION_CHARS - id.length)}${id}`;
}

/** `ACME-0001 · $1,200.00 unpaid · due 2026-10-22` for a select option. */
export function invoiceChoiceText(i: OpenInvoice, timeZone: string): string {
  const parts = [i.number ?? i.id, `${formatMoney(i.amountRemaining)} unpaid`];
  if (i.status === 'uncollectible') parts.push('uncollectible');
  else if (i.dueDate) parts.push(`due ${day(i.dueDate, timeZone)}`);
  return parts.join(' · ');
}

function input(field: MoneyField, label: string, element: Record<string, unknown>, opts: { optional?: boolean; hint?: string } = {}): KnownBlock {
  return {
    type: 'input',
    block_id: MONEY_FIELD_BLOCKS[field],
    label: { type: 'plain_text', text: label },
    ...(opts.optional ? { optional: true } : {}),
    ...(opts.hint ? { hint: { type: 'plain_text', text: cut(opts.hint, 150) } } : {}),
    element: { action_id: field, ...element },
  } as KnownBlock;
}

function select(placeholder: string, options: PlainTextOption[], initial: string | undefined): Record<string, unknown> {
  const chosen = options.find((o) => o.value === initial);
  return {
    type: 'static_select',
    placeholder: { type: 'plain_text', text: placeholder },
    options,
    ...(chosen ? { initial_option: chosen } : {}),
  };
}

const INTRO: Record<MoneyAction, string> = {
  credit: "The credit goes onto the customer's Stripe balance and comes off their next invoices.",
  extend_trial: 'The trial ends later; nothing is prorated or charged for the extra days.',
  pause_collection: 'Stripe keeps creating invoices but does not collect them until collection resumes.',
  resume_collection: 'Stripe collects new invoices again.',
  cancel_at_period_end: 'The subscription stays active until the end of the period it is paid for, then ends.',
  undo_cancel: 'The subscription keeps renewing as before.',
  void_invoice: 'The invoice is voided in Stripe: nothing is owed on it any more. This cannot be undone.',
  mark_uncollectible: 'The invoice is written off as uncollectible in Stripe (it can still be paid later).',
};

/**
 * The modal a money action opens, prefilled with what the command or button already said. Approvals
 * are decided by policy when it is submitted; the modal says so.
 */
export function moneyActionModal(m: MoneyModalInput): ModalView {
  const ini = m.initial ?? {};
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: cut(`*${esc(m.customer.label)}* · \`${esc(m.customer.id)}\`\n${INTRO[m.action]}`, SECTION_CHARS) },
    },
  ];
  for (const field of MODAL_FIELDS[m.action]) {
    switch (field) {
      case 'subscription': {
        const opts = (m.subscriptions ?? []).slice(0, MAX_CHOICES).map((s) => option(subscriptionChoiceText(s, m.timeZone), s.id));
        const only = opts.length === 1 ? opts[0]?.value : undefined;
        blocks.push(input('subscription', 'Subscription', select('Pick a subscription', opts, ini.subscriptionId ?? only)));
        break;
      }
      case 'invoice': {
        const opts = (m.invoices ?? []).slice(0, MAX_CHOICES).map((i) => option(invoiceChoiceText(i, m.timeZone), i.id));
        const only = opts.length === 1 ? opts[0]?.value : undefined;
        blocks.push(input('invoice', 'Invoice', select('Pick an invoice', opts, ini.invoiceId ?? only)));
        break;
      }
      case 'amount':
        blocks.push(
          input(
            'amount',
            'Amount',
            { type: 'plain_text_input', placeholder: { type: 'plain_text', text: 'e.g. 250 or 1,000.50' }, ...(ini.amount ? { initial_value: ini.amount } : {}) },
            { hint: 'In the currency below, in its usual decimals: 1,000.50 for USD, 500 for JPY, 1.250 for BHD.' },
          ),
        );
        break;
      case 'currency': {
        const opts = (m.currencies ?? []).map((c) => option(c, c));
        blocks.push(input('currency', 'Currency', select('Currency', opts, ini.currency ?? opts[0]?.value)));
        break;
      }
      case 'reason': {
        const opts = (m.reasons ?? []).slice(0, MAX_CHOICES).map((r) => option(r.label, r.code));
        blocks.push(input('reason', 'Reason', select('Why the credit is given', opts, ini.reasonCode)));
        break;
      }
      case 'days':
        blocks.push(
          input(
            'days',
            'Extend by (days)',
            { type: 'plain_text_input', placeholder: { type: 'plain_text', text: 'e.g. 14' }, ...(ini.days ? { initial_value: ini.days } : {}) },
            { optional: true, hint: 'Days added to the current trial end. Or pick the new end date below — one of the two.' },
          ),
        );
        break;
      case 'trial_end':
        blocks.push(
          input('trial_end', 'Or: new trial end date', { type: 'datepicker', ...(ini.trialEnd ? { initial_date: ini.trialEnd } : {}) }, {
            optional: true,
            hint: `The trial ends at the start of that day (${m.timeZone}).`,
          }),
        );
        break;
      case 'behavior':
        blocks.push(
          input(
            'behavior',
            'While paused',
            select(
              'What happens to new invoices',
              PAUSE_BEHAVIORS.map((b) => option(PAUSE_TEXT[b], b)),
              'keep_as_draft',
            ),
          ),
        );
        break;
      case 'resumes_at':
        blocks.push(
          input('resumes_at', 'Resume on', { type: 'datepicker' }, { optional: true, hint: `Collection resumes at the start of that day (${m.timeZone}). Empty: until someone resumes it.` }),
        );
        break;
      case 'note':
        blocks.push(
          input('note', 'Note', { type: 'plain_text_input', multiline: true, max_length: MAX_NOTE_CHARS }, {
            hint: 'Why — for the approvers and the audit log.',
          }),
        );
        break;
    }
  }
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: 'Submitting creates a request: policy decides whether it needs approval. You cannot approve your own request.' }],
  });
  return {
    type: 'modal',
    callback_id: VIEW.moneyAction,
    private_metadata: m.privateMetadata,
    title: { type: 'plain_text', text: cut(MODAL_TITLE[m.action], 24) },
    submit: { type: 'plain_text', text: 'Submit' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks,
  };
}

// ---------------------------------------------------------------------------------------------
// Account card buttons
// ---------------------------------------------------------------------------------------------

/** Buttons per actions block (Slack allows 25; five read well and fit a phone). */
export const BUTTONS_PER_ROW = 5;

export function moneyActionButton(action: MoneyAction, customerId: string): Button {
  return {
    type: 'button',
    action_id: actionIdFor(ACTION.moneyAction, action),
    text: { type: 'plain_text', text: BUTTON_TEXT[action] },
    value: customerId,
    ...(action === 'credit' ? { style: 'primary' as const } : {}),
  };
}

/** Buttons in rows of `BUTTONS_PER_ROW`, each row its own actions block. */
export function buttonRows(buttons: readonly Button[], blockIdPrefix: string): ActionsBlock[] {
  const rows: ActionsBlock[] = [];
  for (let i = 0; i < buttons.length; i += BUTTONS_PER_ROW) {
    rows.push({ type: 'actions', block_id: `${blockIdPrefix}:${rows.length}`, elements: buttons.slice(i, i + BUTTONS_PER_ROW) });
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// The request as a message
// ---------------------------------------------------------------------------------------------

const STATUS_ICON: Record<RequestStatus, string> = {
  pending: ':hourglass_flowing_sand:',
  approved: ':arrows_counterclockwise:',
  executing: ':arrows_counterclockwise:',
  executed: ':white_check_mark:',
  failed: ':x:',
  rejected: ':no_entry_sign:',
  expired: ':alarm_clock:',
};

function mentions(ids: readonly string[]): string {
  return ids.map((id) => who(id)).join(', ');
}

/** What the request will do, beyond its title: the Stripe object and the details that matter. */
export function targetText(p: ActionParams, timeZone: string): string {
  switch (p.action) {
    case 'credit':
      return `customer \`${esc(p.customerId)}\``;
    case 'extend_trial':
      return `\`${esc(p.subscriptionId)}\` · trial until ${day(p.trialEnd, timeZone)}`;
    case 'pause_collection':
      return `\`${esc(p.subscriptionId)}\` · ${PAUSE_TEXT[p.behavior].toLowerCase()}${p.resumesAt ? ` · resumes ${day(p.resumesAt, timeZone)}` : ' · until resumed'}`;
    case 'resume_collection':
    case 'cancel_at_period_end':
    case 'undo_cancel':
      return `\`${esc(p.subscriptionId)}\``;
    case 'void_invoice':
    case 'mark_uncollectible':
      return `\`${esc(p.invoiceId)}\``;
    case 'resolve_exception':
      return `exception #${esc(p.exceptionId)} · ${esc(words(p.resolutionCode))}`;
  }
}

function reasonText(r: ApprovalRequestView, o: ApprovalRenderOptions): string | null {
  const p = r.params;
  if (p.action === 'credit') return esc(o.reasons?.get(p.reasonCode) ?? words(p.reasonCode));
  if (p.action === 'resolve_exception') return esc(words(p.resolutionCode));
  return null;
}

function approvalsText(r: ApprovalRequestView): string {
  if (r.requiredApprovals === 0) return 'Not needed (within policy)';
  const got = r.approvals.length;
  const names = got > 0 ? `: ${mentions(r.approvals.map((a) => a.userId))}` : '';
  return `${Math.min(got, r.requiredApprovals)} of ${r.requiredApprovals}${names}`;
}

/** Where the request stands, in one or two lines. */
export function statusLine(r: ApprovalRequestView, o: ApprovalRenderOptions): string {
  const x = r.execution;
  const approvedBy = r.approvals.length > 0 ? ` by ${mentions(r.approvals.map((a) => a.userId))}` : r.requiredApprovals === 0 ? ' automatically' : '';
  switch (r.status) {
    case 'pending': {
      const left = Math.max(1, r.requiredApprovals - r.approvals.length);
      return `${STATUS_ICON.pending} Waiting for ${plural(left, 'more approval')} · expires ${when(r.expiresAt, o.timeZone)}`;
    }
    case 'approved':
    case 'executing': {
      const retry = x.lastError
        ? `\nAttempt ${x.attempts} failed: ${esc(cut(x.lastError, 500))}${x.nextAttemptAt ? ` — trying again at ${when(x.nextAttemptAt, o.timeZone)}` : ''}`
        : '';
      return `${STATUS_ICON.executing} Approved${approvedBy} — executing in Stripe…${retry}`;
    }
    case 'executed': {
      const obj = x.stripeObjectId ? ` Stripe \`${esc(x.stripeObjectId)}\`` : '';
      return `${STATUS_ICON.executed} Approved${approvedBy} · executed ${x.executedAt ? when(x.executedAt, o.timeZone) : ''}.${obj}`;
    }
    case 'failed':
      return `${STATUS_ICON.failed} Approved${approvedBy}, but Stripe refused it after ${plural(x.attempts, 'attempt')}: ${esc(cut(x.lastError ?? 'unknown error', 1000))}`;
    case 'rejected':
      return r.rejection
        ? `${STATUS_ICON.rejected} Rejected by ${who(r.rejection.userId)} ${when(r.rejection.at, o.timeZone)}: ${esc(cut(r.rejection.reason, 1000))}`
        : `${STATUS_ICON.rejected} Rejected`;
    case 'expired':
      return `${STATUS_ICON.expired} Expired ${when(r.expiresAt, o.timeZone)} without ${r.approvals.length > 0 ? 'enough approvals' : 'a decision'}.`;
  }
}

export function noteOf(p: ActionParams): string {
  return p.note.trim();
}

/** The Approve / Reject buttons of a pending request. `unique` suffixes the ids (several requests in one surface). */
export function decisionButtons(id: string, unique = false): Button[] {
  const aid = (base: string) => (unique ? actionIdFor(base, id) : base);
  return [
    { type: 'button', action_id: aid(ACTION.approvalApprove), text: { type: 'plain_text', text: 'Approve' }, style: 'primary', value: id },
    { type: 'button', action_id: aid(ACTION.approvalReject), text: { type: 'plain_text', text: 'Reject' }, style: 'danger', value: id },
  ];
}

export function retryButton(id: string, unique = false): Button {
  return { type: 'button', action_id: unique ? actionIdFor(ACTION.approvalRetry, id) : ACTION.approvalRetry, text: { type: 'plain_text', text: 'Retry' }, value: id };
}

/** Block id of the buttons under a request (says which request they belong to). */
export function requestBlockId(id: string): string {
  return `approval:${id}`;
}

/**
 * The request as the approvals channel shows it, brought up to date in place after every decision
 * and execution: who asked for what, how many approvals it needs and has, and then what happened —
 * the Stripe object id, or the failure with a Retry button.
 */
export function approvalRequestMessage(r: ApprovalRequestView, o: ApprovalRenderOptions): SlackMessage {
  const reason = reasonText(r, o);
  const note = noteOf(r.params);
  const fields = [
    { type: 'mrkdwn' as const, text: `*Customer*\n${esc(r.customerLabel)} \`${esc(r.customerId)}\`` },
    { type: 'mrkdwn' as const, text: `*Amount*\n${r.amount ? formatMoney(r.amount) : '—'}` },
    ...(reason ? [{ type: 'mrkdwn' as const, text: `*Reason*\n${reason}` }] : []),
    { type: 'mrkdwn' as const, text: `*Requested by*\n${who(r.requestedBy.userId)} ${when(r.requestedAt, o.timeZone)}` },
    { type: 'mrkdwn' as const, text: `*Approvals*\n${approvalsText(r)}` },
    { type: 'mrkdwn' as const, text: `*Expires*\n${when(r.expiresAt, o.timeZone)}` },
  ].map((f) => ({ ...f, text: cut(f.text, 1900) }));
  const blocks: KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: cut(`${STATUS_ICON[r.status]} *${esc(r.title)}*`, SECTION_CHARS) } },
    { type: 'section', fields },
  ];
  if (note) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(`*Note*\n${esc(note)}`, SECTION_CHARS) } });
  blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(statusLine(r, o), SECTION_CHARS) } });
  if (r.status === 'pending') blocks.push({ type: 'actions', block_id: requestBlockId(r.id), elements: decisionButtons(r.id) });
  if (r.status === 'failed') blocks.push({ type: 'actions', block_id: requestBlockId(r.id), elements: [retryButton(r.id)] });
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: cut(`Request #${r.id} · ${ACTION_LABELS[r.action]} · ${targetText(r.params, o.timeZone)}`, SECTION_CHARS) }],
  });
  const text = cut(`Approval request #${r.id}: ${r.title} — ${r.status}`, 3000);
  return { text, blocks };
}

/** The DM a requester gets when their request is done: executed, failed, rejected or expired. */
export function requesterOutcomeMessage(r: ApprovalRequestView, o: ApprovalRenderOptions): SlackMessage {
  const head: Record<RequestStatus, string> = {
    pending: 'is waiting for approval',
    approved: 'was approved',
    executing: 'was approved',
    executed: 'was executed',
    failed: 'failed',
    rejected: 'was rejected',
    expired: 'expired',
  };
  const line = `${STATUS_ICON[r.status]} Your request #${r.id} *${esc(r.title)}* ${head[r.status]}.`;
  const blocks: KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: cut(line, SECTION_CHARS) } },
    { type: 'section', text: { type: 'mrkdwn', text: cut(statusLine(r, o), SECTION_CHARS) } },
  ];
  if (r.status === 'failed') {
    blocks.push({ type: 'actions', block_id: requestBlockId(r.id), elements: [retryButton(r.id)] });
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: cut(`${ACTION_LABELS[r.action]} · ${targetText(r.params, o.timeZone)}`, SECTION_CHARS) }] });
  const plain = `Your request #${r.id} (${r.title}) ${head[r.status]}.${r.execution.stripeObjectId && r.status === 'executed' ? ` Stripe ${r.execution.stripeObjectId}.` : ''}`;
  return { text: cut(plain, 3000), blocks };
}

/** What the requester sees right after submitting. */
export function requestCreatedMessage(
  r: ApprovalRequestView,
  o: ApprovalRenderOptions & { channel: string | null; posted: boolean; command: string },
): SlackMessage {
  let text: string;
  if (r.status === 'pending') {
    const where = o.posted && o.channel ? `posted in <#${o.channel}>` : 'approvers see it on their billops Home tab';
    text = `:inbox_tray: Request #${r.id} *${esc(r.title)}* needs ${plural(r.requiredApprovals, 'approval')} — ${where}. It expires ${when(r.expiresAt, o.timeZone)}; I'll DM you the outcome.`;
    if (!o.posted && o.channel) text += '\n:warning: I could not post it in the approvals channel (is billops invited there?).';
  } else {
    text = `${STATUS_ICON[r.status]} Request #${r.id} *${esc(r.title)}* is within policy and needs no approval: ${r.status === 'approved' || r.status === 'executing' ? "it is being executed in Stripe now. I'll DM you the outcome." : statusLine(r, o)}`;
  }
  const blocks: KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: cut(text, SECTION_CHARS) } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: `\`${o.command} approvals\` lists your open requests.` }] },
  ];
  return { text: cut(text, 3000), blocks };
}

// ---------------------------------------------------------------------------------------------
// Reject modal
// ---------------------------------------------------------------------------------------------

export const REJECT_FIELDS = { reasonBlock: 'reject_reason', reasonAction: 'reason' } as const;

export function rejectModal(r: ApprovalRequestView, privateMetadata: string, o: ApprovalRenderOptions): ModalView {
  return {
    type: 'modal',
    callback_id: VIEW.approvalReject,
    private_metadata: privateMetadata,
    title: { type: 'plain_text', text: cut(`Reject request #${r.id}`, 24) },
    submit: { type: 'plain_text', text: 'Reject' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: cut(`*${esc(r.title)}*\nRequested by ${who(r.requestedBy.userId)} ${age(r.requestedAt, o.now)} ago · ${targetText(r.params, o.timeZone)}`, SECTION_CHARS),
        },
      },
      {
        type: 'input',
        block_id: REJECT_FIELDS.reasonBlock,
        label: { type: 'plain_text', text: 'Why is it rejected?' },
        hint: { type: 'plain_text', text: 'The requester gets this by DM, and it goes into the audit log.' },
        element: { type: 'plain_text_input', action_id: REJECT_FIELDS.reasonAction, multiline: true, max_length: MAX_NOTE_CHARS },
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Lists: `/billing approvals` and the Home tab
// ---------------------------------------------------------------------------------------------

/** Requests listed per section of `/billing approvals` (2 blocks each waiting, 1 each of mine). */
export const APPROVALS_LIST_MAX = 10;

/** What a waiting request has so far and until when: `approved by <@U…>, needs 1 more · expires 2026-11-05 09:00`. */
export function waitingDetail(r: ApprovalRequestView, o: ApprovalRenderOptions): string {
  const need = r.requiredApprovals - r.approvals.length;
  const got = r.approvals.length > 0 ? `approved by ${mentions(r.approvals.map((a) => a.userId))}, needs ${need} more · ` : r.requiredApprovals === 2 ? 'needs 2 approvals · ' : '';
  return `${got}expires ${when(r.expiresAt, o.timeZone)}`;
}

function waitingText(r: ApprovalRequestView, o: ApprovalRenderOptions): string {
  return `*${esc(r.title)}*\nRequested by ${who(r.requestedBy.userId)} ${age(r.requestedAt, o.now)} ago · ${waitingDetail(r, o)}`;
}

function mineText(r: ApprovalRequestView, o: ApprovalRenderOptions): string {
  return `*#${r.id} ${esc(r.title)}*\n${statusLine(r, o)}`;
}

/** Block id of one request's buttons in a list (several requests: each id unique). */
export function listBlockId(surface: 'list' | 'home', id: string): string {
  return `${surface}:approval:${id}`;
}

/** `/billing approvals`: what waits for the person's decision, and their own requests. */
export function approvalsListMessage(
  input: { awaiting: readonly ApprovalRequestView[]; mine: readonly ApprovalRequestView[]; notice?: string | undefined },
  o: ApprovalRenderOptions,
): SlackMessage {
  const blocks: KnownBlock[] = [];
  if (input.notice) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(input.notice, SECTION_CHARS) } });
  blocks.push({ type: 'header', text: { type: 'plain_text', text: `Waiting for your approval (${input.awaiting.length})` } });
  if (input.awaiting.length === 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'Nothing is waiting for you.' }] });
  for (const r of input.awaiting.slice(0, APPROVALS_LIST_MAX)) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(waitingText(r, o), SECTION_CHARS) } });
    blocks.push({ type: 'actions', block_id: listBlockId('list', r.id), elements: decisionButtons(r.id, true) });
  }
  if (input.awaiting.length > APPROVALS_LIST_MAX) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${input.awaiting.length - APPROVALS_LIST_MAX} more.` }] });
  }
  blocks.push({ type: 'divider' });
  blocks.push({ type: 'header', text: { type: 'plain_text', text: `Your requests (${input.mine.length})` } });
  if (input.mine.length === 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: 'You have no open or recent requests.' }] });
  for (const r of input.mine.slice(0, APPROVALS_LIST_MAX)) {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: cut(mineText(r, o), SECTION_CHARS) },
      ...(r.status === 'failed' ? { accessory: retryButton(r.id, true) } : {}),
    });
  }
  if (input.mine.length > APPROVALS_LIST_MAX) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${input.mine.length - APPROVALS_LIST_MAX} more.` }] });
  }
  const text = `${plural(input.awaiting.length, 'request')} waiting for your approval; ${plural(input.mine.length, 'request')} of yours open or recent.`;
  return { text, blocks };
}

/** One of the person's own requests, as the Home tab lists it. */
export function homeMineText(r: ApprovalRequestView, o: ApprovalRenderOptions): string {
  return mineText(r, o);
}
