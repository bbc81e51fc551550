import type { Button, KnownBlock } from '@slack/types';
import type {
  AccountCard,
  AccountDispute,
  AccountSearch,
  AccountSubscription,
  FailedPayment,
  OpenInvoice,
  TimelineEvent,
} from '../../accounts/index.js';
import type { CreditLedger } from '../../approvals/index.js';
import type { ExceptionView } from '../../exceptions/index.js';
import { type Money, formatMoney } from '../../money/index.js';
import { MONEY_ACTIONS, buttonRows, invoicesFor, isSubscriptionAction, moneyActionButton, subscriptionsFor } from './approvals.js';
import { statusText } from './exceptions.js';
import { cut, esc, plural, when } from './format.js';
import { ACTION, actionIdFor } from './ids.js';

/**
 * The account card and the "which one did you mean?" chooser. Pure: plain data in, Block Kit out,
 * within Slack's limits (≤ 50 blocks a message, section text ≤ 3000 characters). Everything that
 * came from Stripe or a person (names, emails, decline messages, invoice numbers) is escaped for
 * mrkdwn.
 */

export interface AccountMessage {
  text: string;
  blocks: KnownBlock[];
}

/** Section text stays under Slack's 3000 characters with room for markup. */
const SECTION_CHARS = 2900;
/** One line of a list is cut here, so a long decline message cannot push the others out. */
const LINE_CHARS = 280;
/** Lines per list on the card; the rest is "and N more". */
export const CARD_LINES = 5;
/** Matches offered by the chooser. */
export const CHOOSER_MAX = 10;
/** The chooser's sections carry this block_id prefix: a pick from it replaces the chooser with the card. */
export const CHOOSER_BLOCK_PREFIX = 'account_choice';

export interface AccountRenderOptions {
  /** The organisation's time zone: dates are days as it reads them. */
  timeZone: string;
}

function day(at: Date, timeZone: string): string {
  return when(at, timeZone).slice(0, 10);
}

function m(x: Money): string {
  return formatMoney(x);
}

function moneyList(list: readonly Money[]): string {
  return list.map(m).join(' + ');
}

function words(code: string): string {
  return code.replace(/_/g, ' ');
}

/** A Stripe URL as a link, when it cannot break out of the link syntax. */
function link(url: string | null, label: string): string {
  return url && /^https:\/\/[^\s<>|]+$/.test(url) ? `<${url}|${label}>` : label;
}

function section(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: cut(text, SECTION_CHARS) } };
}

/** `*Title*` and up to CARD_LINES bullet lines, then "and N more", or the `none` line. */
function listSection(title: string, lines: readonly string[], total: number, none: string): KnownBlock {
  if (total === 0 || lines.length === 0) return section(`*${title}*\n${none}`);
  const shown = lines.slice(0, CARD_LINES).map((l) => `• ${cut(l, LINE_CHARS)}`);
  const more = total - shown.length;
  return section([`*${title}*`, ...shown, ...(more > 0 ? [`_and ${more.toLocaleString('en-US')} more_`] : [])].join('\n'));
}

export function customerLabel(c: { name: string | null; email: string | null; id: string }): string {
  return c.name?.trim() || c.email || c.id;
}

// --- the card -----------------------------------------------------------------------------------

function intervalText(s: Pick<AccountSubscription, 'interval' | 'intervalCount'>): string {
  if (!s.interval) return '';
  const n = s.intervalCount ?? 1;
  return n === 1 ? ` / ${s.interval}` : ` / ${n} ${s.interval}s`;
}

const MRR_EXCLUSION_TEXT = {
  trialing: 'not in MRR while trialing',
  not_active: 'not in MRR',
  usage_based: 'usage-based price not in MRR',
  no_unit_price: 'price without a unit amount not in MRR',
} as const;

export function subscriptionLine(s: AccountSubscription, o: AccountRenderOptions): string {
  const qty = s.quantity !== null && s.quantity !== 1n ? ` × ${s.quantity.toLocaleString('en-US')}` : '';
  const price = s.unitPrice ? ` — ${m(s.unitPrice)}${qty}${intervalText(s)}` : '';
  const extra = s.extraItems > 0 ? ` (+${plural(s.extraItems, 'more item')})` : '';
  const parts = [`*${esc(s.plan)}*${extra}${price}`];
  if (s.status === 'trialing') parts.push(s.trialEnd ? `trialing until ${day(s.trialEnd, o.timeZone)}` : 'trialing');
  else if (s.status === 'canceled' || s.status === 'incomplete_expired') {
    const ended = s.endedAt ?? s.canceledAt;
    parts.push(ended ? `${words(s.status)} ${day(ended, o.timeZone)}` : words(s.status));
  } else parts.push(s.status === 'past_due' ? ':warning: past due' : words(s.status));
  const live = s.status !== 'canceled' && s.status !== 'incomplete_expired';
  if (s.mrr) parts.push(`MRR ${m(s.mrr)}${s.hasDiscount ? ' before discounts' : ''}`);
  // An ended subscription says so already; anything else not counted says why.
  if (s.mrrExcluded && live) parts.push(MRR_EXCLUSION_TEXT[s.mrrExcluded]);
  if (live && s.cancelAtPeriodEnd) parts.push(`cancels at period end${s.currentPeriodEnd ? ` ${day(s.currentPeriodEnd, o.timeZone)}` : ''}`);
  else if (live && s.cancelAt) parts.push(`cancels ${day(s.cancelAt, o.timeZone)}`);
  else if (live && s.status !== 'trialing' && s.status !== 'paused' && s.currentPeriodEnd) parts.push(`renews ${day(s.currentPeriodEnd, o.timeZone)}`);
  if (s.collectionPaused) {
    const until = s.collectionPaused.resumesAt ? ` until ${day(s.collectionPaused.resumesAt, o.timeZone)}` : '';
    parts.push(`collection paused (${words(s.collectionPaused.behavior)})${until}`);
  }
  return parts.join(' · ');
}

function declineText(code: string | null, message: string | null): string {
  const msg = message ? esc(message) : 'declined';
  return code ? `${msg} (\`${esc(code)}\`)` : msg;
}

export function invoiceLine(i: OpenInvoice, o: AccountRenderOptions): string {
  const label = link(i.hostedInvoiceUrl, `*${esc(i.number ?? i.id)}*`);
  const partly = i.amountRemaining.amount !== i.amountDue.amount ? ` of ${m(i.amountDue)}` : '';
  const parts = [`${label} ${m(i.amountRemaining)}${partly} unpaid`];
  switch (i.paymentStatus) {
    case 'overdue':
      parts.push(`:warning: ${plural(i.daysOverdue ?? 0, 'day')} overdue${i.dueDate ? ` (due ${day(i.dueDate, o.timeZone)})` : ''}`);
      break;
    case 'awaiting_payment':
      parts.push(i.dueDate ? `due ${day(i.dueDate, o.timeZone)}` : 'awaiting payment');
      break;
    case 'retrying':
      parts.push(
        `retrying: ${plural(i.attemptCount, 'attempt')}${i.nextPaymentAttempt ? `, next ${day(i.nextPaymentAttempt, o.timeZone)}` : ''}`,
      );
      break;
    case 'retries_exhausted':
      parts.push(`:warning: ${plural(i.attemptCount, 'attempt')} failed, no retry scheduled`);
      break;
    case 'scheduled':
      parts.push(i.nextPaymentAttempt ? `first attempt ${day(i.nextPaymentAttempt, o.timeZone)}` : 'not attempted yet');
      break;
    case 'uncollectible':
      parts.push('marked uncollectible');
      break;
  }
  if (i.lastDecline) parts.push(`last decline: ${declineText(i.lastDecline.code, i.lastDecline.message)}`);
  return parts.join(' · ');
}

export function failedPaymentLine(f: FailedPayment, o: AccountRenderOptions): string {
  const parts = [`${day(f.at, o.timeZone)} ${m(f.amount)} — ${declineText(f.failureCode, f.failureMessage)}`];
  if (f.paymentMethod) parts.push(esc(f.paymentMethod));
  if (f.invoiceNumber ?? f.invoiceId) parts.push(`for ${esc(f.invoiceNumber ?? f.invoiceId ?? '')}`);
  return parts.join(' · ');
}

export function disputeLine(d: AccountDispute, o: AccountRenderOptions): string {
  const head = `${d.open ? ':rotating_light: ' : ''}${m(d.amount)} *${words(d.status)}*${d.reason ? ` — ${esc(words(d.reason))}` : ''}`;
  const parts = [head];
  if (d.needsResponse && d.evidenceDueBy) {
    const left = d.daysToRespond ?? 0;
    const tail = left < 0 ? `${plural(-left, 'day')} past the deadline` : left === 0 ? 'due today' : `${plural(left, 'day')} left`;
    parts.push(`evidence due ${day(d.evidenceDueBy, o.timeZone)} (${tail})`);
  }
  parts.push(`opened ${day(d.created, o.timeZone)}`, `\`${esc(d.id)}\``);
  return parts.join(' · ');
}

export function exceptionLine(e: ExceptionView, o: AccountRenderOptions & { now: Date }): string {
  const ref = e.reference ?? e.stripeId;
  return [
    `*#${e.id}* ${esc(e.kindLabel)}`,
    m({ amount: e.amount, currency: e.currency }),
    ...(ref ? [esc(ref)] : []),
    e.severity,
    statusText(e, { now: o.now, timeZone: o.timeZone }),
  ].join(' · ');
}

const TIMELINE_TEXT: Record<TimelineEvent['kind'], string> = {
  invoice: 'Invoice',
  payment: 'Payment',
  refund: 'Refund',
  dispute: 'Dispute',
  credit_note: 'Credit note',
};

export function timelineLine(e: TimelineEvent, o: AccountRenderOptions): string {
  const ref = e.reference ? ` ${esc(e.reference)}` : '';
  const detail = e.detail ? ` — ${esc(words(e.detail))}` : '';
  const icon = e.event === 'failed' ? ':x: ' : e.kind === 'dispute' ? ':rotating_light: ' : '';
  return `${day(e.at, o.timeZone)} ${icon}${TIMELINE_TEXT[e.kind]}${ref} ${words(e.event)} ${m(e.amount)}${detail}`;
}

function balanceText(card: AccountCard): string {
  const b = card.balance;
  if (b.credit) return `${m(b.credit)} credit _(comes off the next invoice)_`;
  if (b.owed) return `${m(b.owed)} owed _(added to the next invoice)_`;
  return 'No credit';
}

/** The credit ledger's running balance per currency and whether it agrees with Stripe. */
function ledgerText(ledger: CreditLedger | null | undefined): string {
  if (!ledger || (ledger.balanceByCurrency.length === 0 && !ledger.mismatch)) return '';
  const balances = ledger.balanceByCurrency.map((b) => m({ amount: b.amount, currency: b.currency }));
  const line = `\nLedger: ${balances.length ? balances.join(' · ') : 'nothing recorded'}`;
  const sb = ledger.stripeBalance;
  const stripe = !sb
    ? ''
    : sb.amount <= 0n
      ? ` (Stripe shows ${m({ amount: -sb.amount, currency: sb.currency })} credit)`
      : ` (Stripe shows ${m(sb)} owed)`;
  return ledger.mismatch ? `${line}\n:warning: ledger and Stripe disagree${stripe}` : line;
}

/**
 * Money actions on the account, as buttons: Apply credit always; each subscription action when a
 * subscription on the card is in a state it fits (trialing → Extend trial, paused → Resume, set to
 * cancel → Undo cancel…); Void / Write off when an unpaid invoice fits. The modal each opens lets
 * the person pick which subscription or invoice. A deleted customer gets none.
 */
export function accountActionButtons(card: AccountCard): Button[] {
  if (card.customer.deleted) return [];
  const id = card.customer.id;
  const subs = card.subscriptions.items;
  const invoices = card.openInvoices.items;
  return MONEY_ACTIONS.filter((action) => {
    if (action === 'credit') return true;
    if (isSubscriptionAction(action)) return subscriptionsFor(action, subs).length > 0;
    return invoicesFor(action, invoices).length > 0;
  }).map((action) => moneyActionButton(action, id));
}

/** The account card: who, plan and MRR, balance, open invoices, retries, disputes, exceptions, timeline. */
export function accountCardBlocks(card: AccountCard, o: AccountRenderOptions, extra: { ledger?: CreditLedger | null } = {}): AccountMessage {
  const c = card.customer;
  const label = customerLabel(c);
  const flags = [
    ...(c.delinquent ? [':warning: delinquent'] : []),
    ...(c.deleted ? [':wastebasket: deleted in Stripe'] : []),
    ...(c.livemode ? [] : ['test mode']),
  ];
  const who = [
    c.email ? esc(c.email) : null,
    `\`${esc(c.id)}\``,
    `customer since ${day(c.created, o.timeZone)}`,
    c.currency ?? null,
    ...flags,
  ].filter((x): x is string => x !== null);
  const openDisputes = card.disputes.open;
  const invoices = card.openInvoices;

  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(label, 150) } },
    section(who.join(' · ')),
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*MRR*\n${card.mrr.length ? moneyList(card.mrr) : 'none'}` },
        { type: 'mrkdwn', text: `*Credit balance*\n${balanceText(card)}${ledgerText(extra.ledger)}` },
        {
          type: 'mrkdwn',
          text: `*Open invoices*\n${invoices.total === 0 ? 'none' : `${plural(invoices.total, 'invoice')} · ${moneyList(invoices.outstanding)} unpaid`}`,
        },
        {
          type: 'mrkdwn',
          text: `*Disputes*\n${openDisputes > 0 ? `:rotating_light: ${openDisputes} open` : 'none open'}${card.disputes.total > openDisputes ? ` · ${card.disputes.total - openDisputes} closed` : ''}`,
        },
      ],
    },
    listSection(
      'Subscriptions',
      card.subscriptions.items.map((s) => subscriptionLine(s, o)),
      card.subscriptions.total,
      'No subscriptions.',
    ),
    { type: 'divider' },
    listSection('Open invoices', invoices.items.map((i) => invoiceLine(i, o)), invoices.total, 'Nothing unpaid.'),
    listSection('Failed payments', card.failedPayments.items.map((f) => failedPaymentLine(f, o)), card.failedPayments.total, 'No failed payments.'),
    listSection('Disputes', card.disputes.items.map((d) => disputeLine(d, o)), card.disputes.total, 'No disputes.'),
    listSection(
      'Open exceptions',
      card.exceptions.items.map((e) => exceptionLine(e, { ...o, now: card.asOf })),
      card.exceptions.total,
      'Nothing for this customer in the exception queue.',
    ),
    // The timeline is already the last few events: every one is shown.
    card.timeline.length === 0
      ? section('*Recent activity*\nNo activity recorded yet.')
      : section(['*Recent activity*', ...card.timeline.map((e) => `• ${cut(timelineLine(e, o), LINE_CHARS)}`)].join('\n')),
  ];
  const actions = accountActionButtons(card);
  blocks.push(...buttonRows(actions, 'account_actions'));
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `As of ${when(card.asOf, o.timeZone)} (${esc(o.timeZone)}) · only visible to you` }],
  });

  const text = [
    `Account ${label} (${c.id})`,
    `MRR ${card.mrr.length ? moneyList(card.mrr) : 'none'}`,
    invoices.total ? `${plural(invoices.total, 'open invoice')}, ${moneyList(invoices.outstanding)} unpaid` : 'no open invoices',
    openDisputes ? `${openDisputes} open dispute${openDisputes === 1 ? '' : 's'}` : null,
  ]
    .filter((x): x is string => x !== null)
    .join(' · ');
  return { text: cut(esc(text), 3000), blocks };
}

// --- finding the account ------------------------------------------------------------------------

function searchedText(s: Pick<AccountSearch, 'query' | 'searchedBy' | 'nameMatch'>): string {
  const q = esc(s.query);
  if (s.searchedBy === 'id') return `the customer id \`${q}\``;
  if (s.searchedBy === 'email') return `the email address *${q}*`;
  return s.nameMatch === 'prefix' ? `names starting with *${q}*` : `names containing *${q}*`;
}

/** Several customers match: offer them as buttons instead of guessing. */
export function accountChooserBlocks(search: AccountSearch, o: AccountRenderOptions): AccountMessage {
  const shown = search.matches.slice(0, CHOOSER_MAX);
  const blocks: KnownBlock[] = [section(`${plural(search.total, 'customer')} match ${searchedText(search)}. Which one do you mean?`)];
  for (const a of shown) {
    const details = [
      a.email ? esc(a.email) : null,
      `\`${esc(a.id)}\``,
      `since ${day(a.created, o.timeZone)}`,
      a.delinquent ? ':warning: delinquent' : null,
      a.deleted ? ':wastebasket: deleted in Stripe' : null,
    ].filter((x): x is string => x !== null);
    blocks.push({
      type: 'section',
      block_id: `${CHOOSER_BLOCK_PREFIX}:${a.id}`,
      text: { type: 'mrkdwn', text: cut(`*${esc(customerLabel(a))}*\n${details.join(' · ')}`, SECTION_CHARS) },
      accessory: { type: 'button', action_id: actionIdFor(ACTION.accountOpen, a.id), text: { type: 'plain_text', text: 'Open' }, value: a.id },
    });
  }
  const more = search.total - shown.length;
  if (more > 0) {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `${more.toLocaleString('en-US')} more — refine your search (an email or a \`cus_…\` id finds exactly one).` }],
    });
  }
  return { text: esc(cut(`${plural(search.total, 'customer')} match "${search.query}"; pick one.`, 2000)), blocks };
}

/** Nothing matched: say what was searched, and how else to search. */
export function accountNotFoundBlocks(search: Pick<AccountSearch, 'query' | 'searchedBy' | 'nameMatch'>): AccountMessage {
  const what =
    search.searchedBy === 'name' ? `No customer's name starts with or contains *${esc(search.query)}*.` : `No customer has ${searchedText(search)}.`;
  const hint = 'Look up by Stripe customer id (`cus_…`), email address, or part of the name. New customers appear once their Stripe data has synced.';
  return {
    text: cut(`${what} ${hint}`, 3000),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `:mag: ${cut(what, SECTION_CHARS)}` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: hint }] },
    ],
  };
}
