import { type AccountCard, type AccountSubscription, type OpenInvoice, accountCard, findAccounts } from '../../accounts/index.js';
import { ACTION_LABELS } from '../../approvals/index.js';
import type { Db } from '../../db/index.js';
import { UserError } from '../../util/index.js';
import { type MoneyAction, customerLabel, invoicesFor, isInvoiceAction, isSubscriptionAction, subscriptionsFor } from '../blocks/index.js';
import { esc } from '../blocks/format.js';
import type { SlackContext } from '../context.js';

/**
 * What a money action is about, as a person names it in a command (a customer by id, email or name;
 * a `sub_…`; an `in_…`) or as a button carries it (a customer id): the customer, and the
 * subscriptions or invoices the action fits, for the modal to offer. Reads billops' copy of Stripe
 * only; the approvals capability checks everything again when the request is made.
 */

export interface ActionTarget {
  card: AccountCard;
  /** The subscriptions (or invoices) the action fits. */
  subscriptions: AccountSubscription[];
  invoices: OpenInvoice[];
  /** The one the person named, when they named one. */
  subscriptionId?: string | undefined;
  invoiceId?: string | undefined;
}

/** Subscriptions and invoices offered in a modal (Slack's select holds 100). */
const TARGET_LIMIT = 100;

const SUBSCRIPTION_ID = /^sub_[A-Za-z0-9_]{1,250}$/;
const INVOICE_ID = /^in_[A-Za-z0-9_]{1,250}$/;

/** The customer a lookup names, exactly one: none or several is a UserError that says which. */
export async function findOneCustomer(db: Db['db'], query: string): Promise<string> {
  const search = await findAccounts(db, query, { limit: 5 });
  const [only] = search.matches;
  if (search.total === 0 || !only) {
    throw new UserError(`No customer matches "${esc(query)}". Give a Stripe customer id (\`cus_…\`), an email address or part of the name.`);
  }
  if (search.total > 1) {
    const names = search.matches.map((m) => `${esc(customerLabel(m))} (\`${m.id}\`)`).join(', ');
    const more = search.total > search.matches.length ? ` and ${search.total - search.matches.length} more` : '';
    throw new UserError(`"${esc(query)}" matches ${search.total} customers: ${names}${more}. Say which one — the \`cus_…\` id or the email finds exactly one.`);
  }
  return only.id;
}

async function customerOfSubscription(db: Db['db'], id: string): Promise<string> {
  const row = await db.selectFrom('stripe_subscriptions').select('customer_id').where('id', '=', id).executeTakeFirst();
  if (!row) throw new UserError(`No subscription \`${esc(id)}\` is known to billops. It may not have been synced from Stripe yet.`);
  return row.customer_id;
}

async function customerOfInvoice(db: Db['db'], id: string): Promise<string> {
  const row = await db.selectFrom('stripe_invoices').select('customer_id').where('id', '=', id).executeTakeFirst();
  if (!row) throw new UserError(`No invoice \`${esc(id)}\` is known to billops. It may not have been synced from Stripe yet.`);
  if (!row.customer_id) throw new UserError(`Invoice \`${esc(id)}\` has no customer in Stripe.`);
  return row.customer_id;
}

function describeSubscription(s: AccountSubscription): string {
  if (s.collectionPaused) return 'has collection paused';
  if (s.cancelAtPeriodEnd) return 'is set to cancel at period end';
  if (s.status === 'trialing') return 'is trialing';
  return `is ${s.status.replace(/_/g, ' ')}`;
}

/**
 * The target of `action` named by `word` (`cus_…`, an email, a name, `sub_…`, `in_…`; or a customer
 * id from a button). A customer with nothing the action fits is a UserError saying so.
 */
export async function loadActionTarget(ctx: SlackContext, action: MoneyAction, word: string): Promise<ActionTarget> {
  const db = ctx.db.db;
  let customerId: string;
  let subscriptionId: string | undefined;
  let invoiceId: string | undefined;
  if (SUBSCRIPTION_ID.test(word)) {
    if (!isSubscriptionAction(action)) throw new UserError(`${ACTION_LABELS[action]} takes ${isInvoiceAction(action) ? 'an invoice (`in_…`)' : 'a customer'}, not a subscription.`);
    subscriptionId = word;
    customerId = await customerOfSubscription(db, word);
  } else if (INVOICE_ID.test(word)) {
    if (!isInvoiceAction(action)) throw new UserError(`${ACTION_LABELS[action]} takes ${isSubscriptionAction(action) ? 'a customer or a subscription (`sub_…`)' : 'a customer'}, not an invoice.`);
    invoiceId = word;
    customerId = await customerOfInvoice(db, word);
  } else {
    customerId = await findOneCustomer(db, word);
  }
  const card = await accountCard(db, customerId, { clock: ctx.clock, config: ctx.config, limit: TARGET_LIMIT });
  const label = esc(customerLabel(card.customer));
  if (card.customer.deleted) throw new UserError(`${label} is deleted in Stripe: no money actions can be taken on it.`);
  const subscriptions = subscriptionsFor(action, card.subscriptions.items);
  const invoices = invoicesFor(action, card.openInvoices.items);
  const what = ACTION_LABELS[action].toLowerCase();
  if (subscriptionId && !subscriptions.some((s) => s.id === subscriptionId)) {
    const sub = card.subscriptions.items.find((s) => s.id === subscriptionId);
    throw new UserError(`\`${esc(subscriptionId)}\` ${sub ? describeSubscription(sub) : 'is not among the customer’s subscriptions'}: ${what} does not apply to it.`);
  }
  if (invoiceId && !invoices.some((i) => i.id === invoiceId)) {
    const inv = card.openInvoices.items.find((i) => i.id === invoiceId);
    throw new UserError(`Invoice \`${esc(invoiceId)}\` is ${inv ? inv.status : 'not open (paid, void or draft)'}: ${what} does not apply to it.`);
  }
  if (isSubscriptionAction(action) && subscriptions.length === 0) {
    throw new UserError(`${label} has no subscription that ${what} applies to.`);
  }
  if (isInvoiceAction(action) && invoices.length === 0) {
    throw new UserError(`${label} has no ${action === 'void_invoice' ? 'open or uncollectible' : 'open'} invoice to ${action === 'void_invoice' ? 'void' : 'write off'}.`);
  }
  return { card, subscriptions, invoices, subscriptionId, invoiceId };
}

/**
 * The currencies a credit is offered in: the customer's (a Stripe customer's balance is in its
 * currency), or — for a customer not billed yet — the org's; plus one the person typed.
 */
export function creditCurrencies(ctx: SlackContext, card: AccountCard, typed?: string): string[] {
  const org = ctx.config.file.org;
  const own = card.customer.currency?.toUpperCase();
  const list = own ? [own, typed] : [typed, org.functional_currency, org.reporting_currency, ...Object.keys(org.fx_rates)];
  return [...new Set(list.filter((c): c is string => typeof c === 'string' && c.length === 3))];
}
