import type { WebClient } from '@slack/web-api';
import { formatMoney } from '../money/index.js';
import type { CollectionsNotice, CollectionsNotifier, SentMessage } from './types.js';

/**
 * The plain-text notifier: one `chat.postMessage` per side effect, text only. Small on purpose — the
 * Slack side replaces it with Block Kit messages (buttons for pause, owner reassignment …) by
 * implementing `CollectionsNotifier` and passing it as `JobDeps.collectionsNotifier`.
 * A DM is posted to the user id (Slack delivers it in the app's DM with them; needs `chat:write`).
 * Rate limits: WebClient waits out Slack's 429s (Retry-After) and retries.
 */

function days(n: number): string {
  return `${n} day${n === 1 || n === -1 ? '' : 's'}`;
}

function when(daysPastDue: number): string {
  if (daysPastDue > 0) return `${days(daysPastDue)} overdue`;
  if (daysPastDue === 0) return 'due today';
  return `due in ${days(-daysPastDue)}`;
}

function day(d: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}

/** What the customer was told (or what Stripe is doing about it), in words. */
function reminderLine(n: CollectionsNotice): string | null {
  const r = n.reminder;
  if (!r) return null;
  if (r.kind === 'invoice_sent') {
    return r.reachedStripe ? 'Customer reminder: Stripe e-mailed the invoice again.' : 'Customer reminder: the invoice would be e-mailed again by Stripe (not sent: no Stripe account in this run).';
  }
  const next = r.nextPaymentAttempt ? `Stripe retries the card on ${day(r.nextPaymentAttempt, n.timezone)}` : 'Stripe has no retry scheduled';
  const decline = r.lastDecline ? `; last decline: ${r.lastDecline.message ?? r.lastDecline.code ?? 'no reason given'}` : '';
  return `Card payment: ${r.attemptCount} failed attempt${r.attemptCount === 1 ? '' : 's'}, ${next}${decline}.`;
}

/** The message text for a notice (also what the demo prints). */
export function noticeText(n: CollectionsNotice): string {
  const inv = n.invoice;
  const who = n.customer.name ? `${n.customer.name} (${n.customer.id ?? 'no customer'})` : (n.customer.id ?? 'Unknown customer');
  const of = inv.amountRemaining.amount === inv.amountDue.amount ? '' : ` (of ${formatMoney(inv.amountDue)})`;
  const lines = [
    `Collections · ${n.step.label} (${n.segment})`,
    `${who} owes ${formatMoney(inv.amountRemaining)}${of} on invoice ${inv.number ?? inv.id}, due ${inv.dueOn}: ${when(inv.daysPastDue)}.`,
  ];
  const reminder = reminderLine(n);
  if (reminder) lines.push(reminder);
  if (n.audience === 'owner') lines.push('You are the account owner: please reach out to the customer.');
  if (n.audience === 'lead') lines.push('This account is now in formal collections.');
  const people = [n.owner ? `owner <@${n.owner.userId}>` : 'no account owner on record', ...n.mentions.filter((m) => m !== n.owner?.userId).map((m) => `<@${m}>`)];
  if (n.audience === 'channel') lines.push(people.join(' · '));
  if (inv.hostedInvoiceUrl) lines.push(`Invoice: ${inv.hostedInvoiceUrl}`);
  return lines.join('\n');
}

async function post(client: WebClient, channel: string, text: string): Promise<SentMessage> {
  const res = await client.chat.postMessage({ channel, text, unfurl_links: false, unfurl_media: false });
  if (!res.ts) throw new Error(`chat.postMessage to ${channel} answered without a ts`);
  return { channel: res.channel ?? channel, ts: res.ts };
}

export function plainTextNotifier(client: WebClient): CollectionsNotifier {
  return {
    dm: (userId, notice) => post(client, userId, noticeText(notice)),
    postChannel: (channelId, notice) => post(client, channelId, noticeText(notice)),
  };
}
