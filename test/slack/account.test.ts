import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccountCard } from '../../src/accounts/index.js';
import { reconcile } from '../../src/matching/index.js';
import { CARD_LINES, accountCardBlocks } from '../../src/slack/blocks/index.js';
import { ACME, ACME_OLD, ACME_ROCKETS, SCRIPT, SCRIPT_TOO, TANAKA, UMBRELLA, loadStripe, seedAccounts } from '../accounts/helpers.js';
import { type TestApp, startTestApp } from '../support/app.js';
import { BLOCK_KIT_LIMITS, validateBlockKit } from '../support/block-kit-limits.js';
import { ManualClock } from '../support/clock.js';
import type { RecordedResponse } from '../support/fake-slack.js';
import { blockActionPayload, sendInteraction, sendSlashCommand } from '../support/slack-requests.js';
import { customer } from '../support/stripe-fixtures.js';

/**
 * `/billing account …` the way billing ops uses it: look a customer up by id, email or name, pick
 * one when several match, and read the card. Everything goes through signed requests to the real
 * Bolt app; what the person sees is what was posted to the response_url.
 */

interface Block {
  type: string;
  block_id?: string;
  text?: { type: string; text: string };
  fields?: Array<{ text: string }>;
  elements?: Array<{ text?: string }>;
  accessory?: { type: string; action_id: string; value: string; text: { text: string } };
}

function blocksOf(r: RecordedResponse): Block[] {
  return (r.body['blocks'] ?? []) as Block[];
}

/** Every piece of text the person sees in a message, in order. */
function shown(r: RecordedResponse): string {
  return blocksOf(r)
    .flatMap((b) => [b.text?.text ?? '', ...(b.fields ?? []).map((f) => f.text), ...(b.elements ?? []).map((e) => e.text ?? '')])
    .join('\n');
}

describe('/billing account', () => {
  let t: TestApp;
  let seq = 0;
  const clock = new ManualClock();

  /** Send `/billing <text>` and wait for the answer at its response_url. */
  async function slash(text: string): Promise<RecordedResponse> {
    const id = `account-${++seq}`;
    const res = await sendSlashCommand(t.baseUrl, t.signingSecret, { command: '/billing', text, response_url: t.slack.responseUrl(id) });
    expect(res.status).toBe(200);
    return t.slack.waitForResponse({ id, timeoutMs: 10_000 });
  }

  /** Click a button of a message, as Slack sends it. */
  async function click(button: NonNullable<Block['accessory']>, blockId: string | undefined): Promise<RecordedResponse> {
    const id = `click-${++seq}`;
    const res = await sendInteraction(
      t.baseUrl,
      t.signingSecret,
      blockActionPayload({ actionId: button.action_id, ...(blockId ? { blockId } : {}), value: button.value, responseUrl: t.slack.responseUrl(id) }),
    );
    expect(res.status).toBe(200);
    return t.slack.waitForResponse({ id, timeoutMs: 10_000 });
  }

  beforeAll(async () => {
    t = await startTestApp({ clock });
    await seedAccounts(t.db.db);
    await reconcile(t.db.db, {
      file: t.config.file,
      matching: t.config.file.matching,
      clock,
      actor: { kind: 'scheduler', id: 'reconcile' },
      source: 'scheduler',
    });
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(() => {
    t.slack.reset();
  });
  afterEach(() => {
    t.slack.assertNoViolations();
  });

  it('opens the card by Stripe customer id: plan and MRR, credit, open invoices, retries, disputes, exceptions, activity', async () => {
    const r = await slash(`account ${ACME}`);
    expect(r.body['response_type']).toBe('ephemeral');
    const blocks = blocksOf(r);
    expect(blocks[0]).toMatchObject({ type: 'header', text: { text: 'Acme Corp' } });
    expect(blocks.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.messageBlocks);
    const s = shown(r);
    expect(s).toContain(`Billing@Acme.example · \`${ACME}\` · customer since 2025-09-27 · USD · :warning: delinquent`);
    expect(s).toContain('*MRR*\n$499.50');
    expect(s).toContain('*Credit balance*\n$50.00 credit _(comes off the next invoice)_');
    expect(s).toContain('*Open invoices*\n2 invoices · $1,347.00 unpaid');
    expect(s).toContain('*Disputes*\n:rotating_light: 1 open · 1 closed');
    // Subscriptions: five of six, then "and 1 more".
    expect(s).toContain('• *Starter* — $49.00 × 3 / month · active · MRR $147.00 · renews 2026-12-01');
    expect(s).toContain('• *Pro (annual)* — $1,990.00 / year · active · MRR $165.83 · renews 2027-11-01');
    expect(s).toContain('• *Data (quarterly)* — $300.00 / 3 months · active · MRR $100.00 · renews 2027-02-01');
    expect(s).toContain('• *Business* — $99.00 / month · trialing until 2026-11-15 · not in MRR while trialing');
    expect(s).toContain('_and 1 more_');
    expect(s).toContain(
      '• <https://invoice.stripe.com/i/acct_fake/test_in_AcmeSent|*ACME-0001*> $1,200.00 unpaid · :warning: 10 days overdue (due 2026-10-22)',
    );
    expect(s).toContain(
      '*ACME-0002*> $147.00 unpaid · retrying: 2 attempts, next 2026-11-03 · last decline: Your card has insufficient funds. (`insufficient_funds`)',
    );
    expect(s).toContain('*Failed payments*\n• 2026-10-30 $147.00 — Your card has insufficient funds. (`insufficient_funds`) · visa •••• 4242 · for ACME-0002');
    expect(s).toContain('• 2026-10-27 $147.00 — Your card was declined. (`card_declined`) · visa •••• 4242 · for ACME-0002');
    expect(s).toContain(
      '• :rotating_light: $199.00 *needs response* — fraudulent · evidence due 2026-11-07 (6 days left) · opened 2026-10-31 · `dp_AcmeOpen`',
    );
    expect(s).toContain('• $29.00 *won* — product not received');
    // The customer's 12 exceptions from the reconcile, most pressing first: five, then "and 7 more".
    const exceptions = blocksOf(r).find((b) => b.text?.text.startsWith('*Open exceptions*'))?.text?.text ?? '';
    expect(exceptions.match(/^• \*#\d+\* /gm)).toHaveLength(5);
    expect(exceptions).toMatch(/^• \*#\d+\* Missing in GL · \$1,200\.00 · in_AcmeSent · high · Open$/m);
    expect(exceptions).toContain('_and 7 more_');
    expect(s).toContain('*Recent activity*\n• 2026-10-31 :rotating_light: Dispute opened $199.00 — fraudulent · needs response');
    expect(s).toContain('• 2026-10-28 Credit note ACME-0001-CN-01 issued $10.00');
    expect(s).toContain('As of 2026-11-01 09:00 (UTC) · only visible to you');
    expect(String(r.body['text'])).toBe(`Account Acme Corp (${ACME}) · MRR $499.50 · 2 open invoices, $1,347.00 unpaid · 1 open dispute`);
    // The money actions that fit this account: a credit always; a trial to extend (Business is
    // trialing), active subscriptions to pause or cancel, open invoices to void or write off.
    const buttons = blocks
      .filter((b) => b.type === 'actions')
      .flatMap((b) => ((b as unknown as { elements: Array<{ text: { text: string }; value: string }> }).elements ?? []));
    const texts = buttons.map((e) => e.text.text);
    expect(texts[0]).toBe('Apply credit');
    expect(texts).toEqual(expect.arrayContaining(['Extend trial', 'Pause collection', 'Cancel at period end', 'Void invoice', 'Write off invoice']));
    expect(texts).not.toContain('Resume collection');
    expect(buttons.every((e) => e.value === ACME)).toBe(true);
  });

  it('opens the card by email, in any case; a zero-decimal currency stays in whole yen', async () => {
    const r = await slash('account KEIRI@Tanaka.example');
    expect(blocksOf(r)[0]).toMatchObject({ type: 'header', text: { text: 'Tanaka Kogyo KK' } });
    const s = shown(r);
    expect(s).toContain('*MRR*\n¥58,334');
    expect(s).toContain('• *Pro (JPY)* — ¥25,000 × 2 / month · active · MRR ¥50,000');
    expect(s).toContain('*Credit balance*\nNo credit');
    expect(s).toContain('*Open invoices*\nNothing unpaid.');
    expect(s).toContain('Nothing for this customer in the exception queue.');
  });

  it('says what each subscription state means for MRR', async () => {
    const s = shown(await slash(`account ${UMBRELLA}`));
    expect(s).toContain('*MRR*\n$150.00');
    expect(s).toContain('*Credit balance*\n$25.00 owed _(added to the next invoice)_');
    expect(s).toContain('• *Team* — $100.00 / month · active · MRR $100.00 · cancels at period end 2026-12-01');
    expect(s).toContain('• *Seats* — $20.00 / month · active · MRR $20.00 · renews 2026-12-01 · collection paused (keep as draft) until 2026-11-11');
    expect(s).toContain('• *Support* — $30.00 / month · :warning: past due · MRR $30.00 before discounts · renews 2026-12-01');
    expect(s).toContain('• *API calls* — $0.05 / month · active · usage-based price not in MRR · renews 2026-12-01');
    expect(s).toContain('• *Archive* — $50.00 / month · paused · not in MRR\n');
  });

  it('offers a choice when a name matches several customers, and the pick replaces the chooser with the card', async () => {
    const r = await slash('account acme');
    expect(r.body['response_type']).toBe('ephemeral');
    expect(shown(r)).toContain('3 customers match names starting with *acme*. Which one do you mean?');
    const choices = blocksOf(r).filter((b) => b.accessory?.type === 'button');
    expect(choices.map((b) => b.accessory?.value)).toEqual([ACME, ACME_OLD, ACME_ROCKETS]);
    expect(choices.map((b) => b.accessory?.text.text)).toEqual(['Open', 'Open', 'Open']);
    expect(choices[2]?.text?.text).toBe(`*ACME Rockets*\nap@acme-rockets.example · \`${ACME_ROCKETS}\` · since 2026-07-24`);
    // Nothing was guessed: no card yet.
    expect(blocksOf(r).some((b) => b.type === 'header')).toBe(false);

    const rockets = choices[2];
    if (!rockets?.accessory) throw new Error('no button for ACME Rockets');
    expect(rockets.accessory.action_id).toBe(`account_open:${ACME_ROCKETS}`);
    const picked = await click(rockets.accessory, rockets.block_id);
    expect(picked.body).toMatchObject({ response_type: 'ephemeral', replace_original: true });
    expect(blocksOf(picked)[0]).toMatchObject({ type: 'header', text: { text: 'ACME Rockets' } });
    expect(shown(picked)).toContain('*MRR*\nnone');
    expect(shown(picked)).toContain('No subscriptions.');
  });

  it('opens the card as a new answer, leaving the message, when the button sits elsewhere (a digest, an alert)', async () => {
    const picked = await click({ type: 'button', action_id: 'account_open', value: TANAKA, text: { text: 'Open account' } }, 'digest_item_1');
    expect(picked.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(blocksOf(picked)[0]).toMatchObject({ type: 'header', text: { text: 'Tanaka Kogyo KK' } });
  });

  it('says there are more than it shows, and how to narrow the search', async () => {
    const r = await slash('account billing@acme.example');
    expect(shown(r)).toContain('2 customers match the email address *billing@acme.example*. Which one do you mean?');
    expect(blocksOf(r).filter((b) => b.accessory).map((b) => b.accessory?.value)).toEqual([ACME, ACME_OLD]);
    expect(shown(r)).not.toContain('more — refine your search');

    // Fourteen customers named "Initech …": ten buttons, then "4 more".
    await loadStripe(
      t.db.db,
      Array.from({ length: 14 }, (_, i) => customer({ id: `cus_Initech${String(i).padStart(4, '0')}`, name: `Initech ${String(i).padStart(2, '0')}` })),
    );
    const many = await slash('account initech');
    expect(blocksOf(many).filter((b) => b.accessory)).toHaveLength(10);
    expect(shown(many)).toContain('14 customers match names starting with *initech*');
    expect(shown(many)).toContain('4 more — refine your search (an email or a `cus_…` id finds exactly one).');
  });

  it('names what it searched when nothing matches', async () => {
    const byName = await slash('account Globex');
    expect(shown(byName)).toContain(":mag: No customer's name starts with or contains *Globex*.");
    expect(shown(byName)).toContain('Look up by Stripe customer id (`cus_…`), email address, or part of the name.');
    const byId = await slash('account cus_Nobody0000');
    expect(shown(byId)).toContain('No customer has the customer id `cus_Nobody0000`.');
    const byEmail = await slash('account nobody@example.com');
    expect(shown(byEmail)).toContain('No customer has the email address *nobody@example.com*.');
  });

  it('asks which account when none is given, with the usage', async () => {
    const r = await slash('account');
    const s = shown(r);
    expect(s).toContain(':warning: Which account? Give a Stripe customer id, an email address or (part of) a name.');
    expect(s).toContain('Usage: `/billing account');
    expect(t.slack.responses).toHaveLength(1);
  });

  it('escapes names and lookups that look like markup', async () => {
    // Slack sends &, < and > in a command's text as entities.
    const r = await slash('account &lt;script&gt;');
    const s = shown(r);
    expect(s).toContain('2 customers match names starting with *&lt;script&gt;*.');
    expect(s).toContain('*&lt;script&gt;alert(1)&lt;/script&gt; &amp; Sons*');
    expect(s).toContain('*&lt;script&gt;&amp;amp;&lt;/script&gt; Holdings*');
    expect(s).not.toContain('<script>');
    expect(String(r.body['text'])).not.toContain('<script>');
    expect(blocksOf(r).filter((b) => b.accessory).map((b) => b.accessory?.value)).toEqual([SCRIPT_TOO, SCRIPT]);

    const button = blocksOf(r).find((b) => b.accessory?.value === SCRIPT);
    if (!button?.accessory) throw new Error('no button for the <script> customer');
    const card = await click(button.accessory, button.block_id);
    // A header is plain text: shown exactly as named, never parsed.
    expect(blocksOf(card)[0]).toMatchObject({ type: 'header', text: { type: 'plain_text', text: '<script>alert(1)</script> & Sons' } });
    expect(shown(card).replace('<script>alert(1)</script> & Sons', '')).not.toContain('<script>');
    expect(String(card.body['text'])).toBe(`Account &lt;script&gt;alert(1)&lt;/script&gt; &amp; Sons (${SCRIPT}) · MRR none · no open invoices`);

    const nothing = await slash('account &lt;b&gt;&amp;');
    expect(shown(nothing)).toContain("No customer's name starts with or contains *&lt;b&gt;&amp;*.");
  });

  it('keeps a card with very long lists and texts within Block Kit limits', () => {
    const long = 'x'.repeat(5000);
    const at = new Date('2026-11-01T09:00:00Z');
    const usd = (amount: bigint) => ({ amount, currency: 'USD' });
    const card: AccountCard = {
      asOf: at,
      customer: { id: 'cus_Big', name: `<${long}>`, email: `${long}@example.com`, description: null, currency: 'USD', delinquent: true, created: at, deleted: true, livemode: true },
      balance: { stripeBalance: usd(10n), credit: null, owed: usd(10n) },
      subscriptions: {
        total: 500,
        items: Array.from({ length: 10 }, (_, i) => ({
          id: `sub_${i}`,
          status: 'active',
          plan: long,
          extraItems: 3,
          interval: 'month',
          intervalCount: 1,
          quantity: 2n,
          unitPrice: usd(100n),
          mrr: usd(200n),
          mrrExcluded: null,
          hasDiscount: true,
          currentPeriodStart: at,
          currentPeriodEnd: at,
          trialEnd: null,
          cancelAtPeriodEnd: true,
          cancelAt: null,
          canceledAt: null,
          endedAt: null,
          collectionPaused: { behavior: 'void', resumesAt: at },
        })),
      },
      mrr: ['EUR', 'JPY', 'USD'].map((currency) => ({ amount: 123456789012n, currency })),
      openInvoices: {
        total: 900,
        outstanding: [usd(1n)],
        items: Array.from({ length: 10 }, (_, i) => ({
          id: `in_${i}`,
          number: long,
          status: 'open',
          paymentStatus: 'overdue' as const,
          collectionMethod: 'send_invoice',
          amountDue: usd(5n),
          amountRemaining: usd(5n),
          finalizedAt: at,
          dueDate: at,
          daysOverdue: 3,
          attemptCount: 0,
          nextPaymentAttempt: null,
          lastDecline: { chargeId: 'ch_x', code: long, message: long, at },
          hostedInvoiceUrl: `https://invoice.stripe.com/${long}`,
        })),
      },
      failedPayments: {
        total: 70,
        items: Array.from({ length: 10 }, (_, i) => ({
          chargeId: `ch_${i}`,
          amount: usd(5n),
          at,
          failureCode: long,
          failureMessage: long,
          paymentMethod: long,
          invoiceId: null,
          invoiceNumber: long,
        })),
      },
      disputes: {
        total: 40,
        open: 40,
        items: Array.from({ length: 10 }, (_, i) => ({
          id: `dp_${i}`,
          chargeId: 'ch',
          amount: usd(5n),
          status: 'needs_response',
          reason: 'fraudulent',
          created: at,
          evidenceDueBy: at,
          open: true,
          needsResponse: true,
          daysToRespond: -2,
        })),
      },
      exceptions: { total: 0, items: [] },
      timeline: Array.from({ length: 10 }, (_, i) => ({
        at,
        kind: 'payment' as const,
        event: 'failed',
        objectId: `ch_${i}`,
        reference: long,
        amount: usd(5n),
        detail: long,
      })),
    };
    const msg = accountCardBlocks(card, { timeZone: 'America/New_York' });
    expect(validateBlockKit('message', msg)).toEqual([]);
    const text = msg.blocks.map((b) => JSON.stringify(b)).join('\n');
    expect(text).toContain('_and 495 more_');
    expect(text).toContain('_and 895 more_');
    expect(text).toContain('2 days past the deadline');
    // Each list shows CARD_LINES lines, then "and N more".
    const sections = (msg.blocks as Block[]).map((b) => b.text?.text ?? '');
    const invoices = sections.find((x) => x.startsWith('*Open invoices*')) ?? '';
    expect(invoices.match(/^• /gm)).toHaveLength(CARD_LINES);
    expect(msg.blocks.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.messageBlocks);
  });
});
