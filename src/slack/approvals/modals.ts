import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import { type ActionParams, PAUSE_BEHAVIORS, type PauseBehavior, reasonCodes } from '../../approvals/index.js';
import type { Db } from '../../db/index.js';
import { startOfDayIn } from '../../exceptions/index.js';
import { isUserError } from '../../util/index.js';
import { parseUserAmount } from '../../money/index.js';
import {
  MODAL_FIELDS,
  MONEY_ACTIONS,
  MONEY_FIELD_BLOCKS,
  type MoneyAction,
  type MoneyField,
  type MoneyModalInitial,
  customerLabel,
  moneyActionModal,
} from '../blocks/index.js';
import type { SlackContext } from '../context.js';
import { type Origin, originSchema } from '../listeners/exception-surfaces.js';
import { type ActionTarget, creditCurrencies } from './targets.js';

/**
 * The money-action modal between the click (or command) and the submission: what it carries in
 * private_metadata (the action, the customer, where to answer), opening it prefilled, and turning
 * its state back into the approvals capability's ActionParams — or field errors keyed by block id.
 */

const moneyMetadataSchema = z.object({
  a: z.enum(MONEY_ACTIONS as unknown as [MoneyAction, ...MoneyAction[]]),
  c: z.string().regex(/^cus_[A-Za-z0-9_]{1,250}$/),
  o: originSchema,
});
export type MoneyModalMetadata = z.infer<typeof moneyMetadataSchema>;

/** Slack's limit on private_metadata. */
const METADATA_CHARS = 3000;

export function encodeMoneyMetadata(m: MoneyModalMetadata): string {
  const text = JSON.stringify(m);
  if (text.length <= METADATA_CHARS) return text;
  // A response_url is the only long part: without it the answer goes by chat.postEphemeral.
  const o: Origin = m.o.kind === 'ephemeral' ? { kind: 'message', channel: m.o.channel, ts: '0', blockId: '' } : m.o;
  return JSON.stringify({ ...m, o });
}

export function decodeMoneyMetadata(raw: string): MoneyModalMetadata {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error('money-action modal private_metadata is not JSON');
  }
  return moneyMetadataSchema.parse(parsed);
}

/** Open the action's modal, prefilled. `triggerId` must be fresh (Slack gives 3 seconds). */
export async function openMoneyModal(
  client: WebClient,
  ctx: SlackContext,
  o: { triggerId: string; action: MoneyAction; target: ActionTarget; initial?: MoneyModalInitial; origin: Origin },
): Promise<void> {
  const { card } = o.target;
  const initial: MoneyModalInitial = {
    ...o.initial,
    ...(o.target.subscriptionId ? { subscriptionId: o.target.subscriptionId } : {}),
    ...(o.target.invoiceId ? { invoiceId: o.target.invoiceId } : {}),
  };
  const view = moneyActionModal({
    action: o.action,
    customer: { id: card.customer.id, label: customerLabel(card.customer) },
    privateMetadata: encodeMoneyMetadata({ a: o.action, c: card.customer.id, o: o.origin }),
    timeZone: ctx.config.file.org.timezone,
    subscriptions: o.target.subscriptions,
    invoices: o.target.invoices,
    ...(o.action === 'credit' ? { currencies: creditCurrencies(ctx, card, initial.currency), reasons: reasonCodes(ctx.config) } : {}),
    initial,
  });
  await client.views.open({ trigger_id: o.triggerId, view });
}

// ---------------------------------------------------------------------------------------------
// The submission
// ---------------------------------------------------------------------------------------------

/** `view.state.values` as Slack sends it, the parts these inputs use. */
export const stateValuesSchema = z.record(
  z.string(),
  z.record(
    z.string(),
    z.object({
      value: z.string().nullish(),
      selected_date: z.string().nullish(),
      selected_option: z.object({ value: z.string() }).nullish(),
    }),
  ),
);
export type StateValues = z.infer<typeof stateValuesSchema>;

export type Reading = { params: ActionParams; errors?: undefined } | { params?: undefined; errors: Record<string, string> };

const DAYS = /^\d{1,4}$/;
/** The longest extension typed in days (a date can say more). */
const MAX_DAYS = 730;
const DAY_MS = 86_400_000;

function valueOf(values: StateValues, field: MoneyField) {
  return values[MONEY_FIELD_BLOCKS[field]]?.[field];
}

function text(values: StateValues, field: MoneyField): string {
  return valueOf(values, field)?.value?.trim() ?? '';
}

function picked(values: StateValues, field: MoneyField): string | undefined {
  return valueOf(values, field)?.selected_option?.value ?? undefined;
}

function date(values: StateValues, field: MoneyField): string | undefined {
  return valueOf(values, field)?.selected_date ?? undefined;
}

async function currentTrialEnd(db: Db['db'], subscriptionId: string): Promise<Date | null> {
  const row = await db.selectFrom('stripe_subscriptions').select('trial_end').where('id', '=', subscriptionId).executeTakeFirst();
  return row?.trial_end ?? null;
}

/**
 * The modal's state as ActionParams, or what is wrong with each field (keyed by block id). Only the
 * form is checked here — an amount that parses, a date that is a date, one of days or date; the
 * approvals capability checks the rest (limits, state in Stripe, taxonomy) when the request is made.
 */
export async function readMoneySubmission(ctx: SlackContext, meta: MoneyModalMetadata, values: StateValues): Promise<Reading> {
  const errors: Record<string, string> = {};
  const fail = (field: MoneyField, message: string) => {
    errors[MONEY_FIELD_BLOCKS[field]] = message;
  };
  const tz = ctx.config.file.org.timezone;
  const note = MODAL_FIELDS[meta.a].includes('note') ? text(values, 'note') : '';
  const subscriptionId = picked(values, 'subscription');
  const invoiceId = picked(values, 'invoice');
  const needSub = () => {
    if (!subscriptionId) fail('subscription', 'Pick the subscription.');
    return subscriptionId ?? '';
  };
  const needInvoice = () => {
    if (!invoiceId) fail('invoice', 'Pick the invoice.');
    return invoiceId ?? '';
  };
  const dayOf = (field: MoneyField, day: string | undefined): Date | null => {
    if (!day) return null;
    try {
      return startOfDayIn(tz, day);
    } catch (err) {
      if (!isUserError(err)) throw err;
      fail(field, err.message);
      return null;
    }
  };

  let params: ActionParams | null = null;
  switch (meta.a) {
    case 'credit': {
      const currency = picked(values, 'currency');
      const reasonCode = picked(values, 'reason');
      if (!currency) fail('currency', 'Pick the currency.');
      if (!reasonCode) fail('reason', 'Pick a reason.');
      let amount: bigint | null = null;
      try {
        amount = parseUserAmount(text(values, 'amount'), currency ? { currency } : {}).amount;
      } catch (err) {
        if (!isUserError(err)) throw err;
        fail('amount', err.message);
      }
      if (currency && reasonCode && amount !== null) params = { action: 'credit', customerId: meta.c, amount, currency, reasonCode, note };
      break;
    }
    case 'extend_trial': {
      const subscriptionId = needSub();
      const days = text(values, 'days');
      const day = date(values, 'trial_end');
      if (days && day) {
        fail('days', 'Give either a number of days or a new end date, not both.');
      } else if (!days && !day) {
        fail('days', 'Give the number of days to add, or pick the new end date below.');
      } else if (days) {
        if (!DAYS.test(days) || Number(days) < 1 || Number(days) > MAX_DAYS) {
          fail('days', `"${days}" is not a number of days: give a whole number from 1 to ${MAX_DAYS}.`);
        } else if (subscriptionId) {
          const now = ctx.clock.now();
          const current = await currentTrialEnd(ctx.db.db, subscriptionId);
          const base = current && current > now ? current : now;
          params = { action: 'extend_trial', subscriptionId, trialEnd: new Date(base.getTime() + Number(days) * DAY_MS), note };
        }
      } else {
        const trialEnd = dayOf('trial_end', day);
        if (trialEnd && subscriptionId) params = { action: 'extend_trial', subscriptionId, trialEnd, note };
      }
      break;
    }
    case 'pause_collection': {
      const subscriptionId = needSub();
      const behavior = picked(values, 'behavior');
      if (!behavior || !(PAUSE_BEHAVIORS as readonly string[]).includes(behavior)) fail('behavior', 'Pick what happens to new invoices while paused.');
      const day = date(values, 'resumes_at');
      const resumesAt = dayOf('resumes_at', day);
      if (subscriptionId && behavior && (!day || resumesAt)) {
        params = { action: 'pause_collection', subscriptionId, behavior: behavior as PauseBehavior, resumesAt, note };
      }
      break;
    }
    case 'resume_collection':
    case 'cancel_at_period_end':
    case 'undo_cancel': {
      const subscriptionId = needSub();
      if (subscriptionId) params = { action: meta.a, subscriptionId, note };
      break;
    }
    case 'void_invoice':
    case 'mark_uncollectible': {
      const invoiceId = needInvoice();
      if (invoiceId) params = { action: meta.a, invoiceId, note };
      break;
    }
  }
  if (Object.keys(errors).length > 0 || !params) return { errors };
  return { params };
}
