import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listOpenRequestsBy } from '../../src/approvals/index.js';
import { type ApprovalsApp, GLOBEX, MANAMA, type OpenedView, REQUESTER, TANAKA, moneyValues as v, startApprovalsApp } from '../support/approvals-slack.js';
import type { StateValues } from '../support/slack-requests.js';
import { shownText } from './exception-fixtures.js';

/**
 * The money-action modals' validation as Slack delivers a submission: a typed amount is read in the
 * chosen currency's own decimals, and anything wrong comes back as `response_action: 'errors'` on
 * the field it is about (the modal stays open, nothing is requested).
 */

let t: ApprovalsApp;
const views = new Map<string, OpenedView>();

beforeAll(async () => {
  t = await startApprovalsApp();
});
afterAll(async () => {
  await t.close();
});
afterEach(() => {
  t.slack.assertNoViolations();
});

/** The credit modal for a customer, opened by `/billing credit <customer>` (once per customer). */
async function creditModal(customer: string): Promise<OpenedView> {
  const known = views.get(customer);
  if (known) return known;
  const from = t.slack.calls.length;
  await t.slash(`credit ${customer}`);
  const view = await t.openedView(from);
  views.set(customer, view);
  return view;
}

function creditValues(amount: string, currency: string, note: string): StateValues {
  return {
    money_amount: { amount: v.text(amount) },
    money_currency: { currency: v.select(currency) },
    money_reason: { reason: v.select('billing_error') },
    money_note: { note: v.text(note) },
  };
}

async function submitCredit(customer: string, amount: string, currency: string, note = `Credit of ${amount}`) {
  const res = await t.submit(await creditModal(customer), creditValues(amount, currency, note));
  expect(res.status).toBe(200);
  return res.body === '' ? null : (JSON.parse(res.body) as unknown);
}

/** The request the requester has open for `customer` whose note is `note`. */
async function requested(note: string) {
  const mine = await listOpenRequestsBy(t.db.db, REQUESTER, 100);
  const r = mine.find((x) => x.params.note === note);
  if (!r) throw new Error(`no request with the note "${note}"`);
  return r;
}

describe('the credit modal', () => {
  it('is titled and prefilled within Slack limits, in the customer’s currency', async () => {
    const view = await creditModal(TANAKA);
    expect(view.callback_id).toBe('money_action_modal');
    expect(view.title.text).toBe('Apply credit');
    expect(view.private_metadata.length).toBeLessThanOrEqual(3000);
    const currency = view.blocks.find((b) => b['block_id'] === 'money_currency') as { element: { initial_option: { value: string }; options: unknown[] } };
    expect(currency.element.initial_option.value).toBe('JPY');
    expect(currency.element.options).toHaveLength(1);
    expect(shownText(view.blocks)).toContain('*Tanaka Shoji* · `cus_TanakaJp0001`');
  });

  it.each([
    ['1,000.50', 'USD', GLOBEX, 100_050n, 'Credit $1,000.50 to Globex Corporation (Billing error)'],
    ['$5', 'USD', GLOBEX, 500n, 'Credit $5.00 to Globex Corporation (Billing error)'],
    ['500', 'JPY', TANAKA, 500n, 'Credit ¥500 to Tanaka Shoji (Billing error)'],
    ['1.250', 'BHD', MANAMA, 1_250n, 'Credit BHD 1.250 to Manama Trading (Billing error)'],
  ])('accepts %s %s: the modal closes and the request is for exactly that amount', async (amount, currency, customer, minor, title) => {
    const note = `accepted ${amount} ${currency}`;
    expect(await submitCredit(customer, amount, currency, note)).toBeNull();
    const r = await requested(note);
    expect(r.params).toMatchObject({ action: 'credit', customerId: customer, amount: minor, currency });
    expect(r.title).toBe(title);
  });

  it.each([
    ['5.001', 'USD', GLOBEX, 'Amount "5.001" has 3 decimals, but USD has 2'],
    ['-5', 'USD', GLOBEX, 'Amount "-5" must be positive'],
    ['-$5', 'USD', GLOBEX, 'Amount "-$5" must be positive'],
    ['0', 'USD', GLOBEX, 'Amount must be more than zero'],
    ['0.00', 'USD', GLOBEX, 'Amount must be more than zero'],
    ['5.5', 'JPY', TANAKA, 'Amount "5.5" has decimals, but JPY has no minor unit'],
    ['1.2505', 'BHD', MANAMA, 'Amount "1.2505" has 4 decimals, but BHD has 3'],
    ['1.234,50', 'USD', GLOBEX, 'Amount "1.234,50" is ambiguous; write it like 1,234.50 (comma for thousands, point for decimals)'],
    ['$5', 'JPY', TANAKA, 'Amount "$5" is in USD, but this is a JPY amount'],
    ['', 'USD', GLOBEX, 'Amount is empty'],
  ])('refuses %s %s with an error on the amount field saying what is wrong', async (amount, currency, customer, message) => {
    const before = (await listOpenRequestsBy(t.db.db, REQUESTER, 100)).length;
    expect(await submitCredit(customer, amount, currency, `refused ${amount}`)).toEqual({ response_action: 'errors', errors: { money_amount: message } });
    expect(await listOpenRequestsBy(t.db.db, REQUESTER, 100)).toHaveLength(before);
  });

  it('puts the approvals capability’s own refusals on the field they name', async () => {
    expect(await submitCredit(GLOBEX, '10', 'EUR')).toEqual({
      response_action: 'errors',
      errors: { money_currency: "Globex Corporation's Stripe balance is kept in USD: the credit must be in USD too." },
    });
    expect(await submitCredit(GLOBEX, '10', 'USD', '   ')).toEqual({
      response_action: 'errors',
      errors: { money_note: 'Say why in a note (it goes to the approvers and the audit log).' },
    });
  });
});

describe('the trial modal', () => {
  async function trialModal(): Promise<OpenedView> {
    const from = t.slack.calls.length;
    await t.slash('trial sub_GlobexTrial');
    return t.openedView(from);
  }
  const values = (days: string | null, date: string | null): StateValues => ({
    money_subscription: { subscription: v.select('sub_GlobexTrial') },
    money_days: { days: v.text(days) },
    money_trial_end: { trial_end: v.date(date) },
    money_note: { note: v.text('Pilot needs two more weeks') },
  });

  it('wants days or a date, not both and not neither, and a whole number of days', async () => {
    const view = await trialModal();
    const both = await t.submit(view, values('14', '2026-12-01'));
    expect(JSON.parse(both.body)).toEqual({ response_action: 'errors', errors: { money_days: 'Give either a number of days or a new end date, not both.' } });
    const neither = await t.submit(view, values(null, null));
    expect(JSON.parse(neither.body)).toEqual({ response_action: 'errors', errors: { money_days: 'Give the number of days to add, or pick the new end date below.' } });
    const words = await t.submit(view, values('two weeks', null));
    expect(JSON.parse(words.body)).toEqual({ response_action: 'errors', errors: { money_days: '"two weeks" is not a number of days: give a whole number from 1 to 730.' } });
  });

  it('puts a date before the current trial end on the date field', async () => {
    const res = await t.submit(await trialModal(), values(null, '2026-11-05'));
    expect(JSON.parse(res.body)).toEqual({
      response_action: 'errors',
      errors: { money_trial_end: 'The trial already runs until 2026-11-10; pick a later day to extend it.' },
    });
  });
});
