import { reasonCodes } from '../../../approvals/index.js';
import { minorToDecimal, normalizeCurrency, parseUserAmount } from '../../../money/index.js';
import { isUserError } from '../../../util/index.js';
import type { MoneyAction, MoneyModalInitial } from '../../blocks/index.js';
import type { SlackContext } from '../../context.js';
import { openMoneyModal } from '../../approvals/modals.js';
import { loadActionTarget } from '../../approvals/targets.js';
import { approvalsList } from '../approval-surfaces.js';
import type { Origin } from '../exception-surfaces.js';
import { type Subcommand, type SubcommandRequest, UsageError } from './billing.js';

/**
 * The money-action subcommands. Each finds what it is about (a customer by id, email or name; a
 * `sub_…`; an `in_…`) and opens the action's modal prefilled with what was typed; the modal makes
 * the request. Usage errors name the word that is wrong. `approvals` lists what waits for the person
 * and their own requests.
 */

/** Slack sends &, < and > in a command's text as entities; the lookup is for what was typed. */
function fromSlackText(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

const DAYS = /^\d{1,4}$/;
const STRIPE_ID = /^(cus|sub|in)_[A-Za-z0-9_]+$/;
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

function modalOrigin(req: SubcommandRequest): Origin {
  return { kind: 'ephemeral', channel: req.channelId, responseUrl: req.responseUrl, blockId: '' };
}

async function open(req: SubcommandRequest, ctx: SlackContext, action: MoneyAction, word: string, initial: MoneyModalInitial = {}): Promise<void> {
  const target = await loadActionTarget(ctx, action, word);
  await openMoneyModal(req.client, ctx, { triggerId: req.triggerId, action, target, initial, origin: modalOrigin(req) });
}

/** A subcommand whose only argument is what it acts on (names may have spaces). */
function targetCommand(o: { name: string; action: MoneyAction; what: string; summary: string }): Subcommand {
  const usage = `${o.name} <${o.what}>`;
  return {
    name: o.name,
    usage,
    summary: o.summary,
    async run(req, ctx) {
      const command = ctx.config.file.slack.command;
      const words = req.args.map((a) => fromSlackText(a).trim()).filter(Boolean);
      // An id is one word: a second one is a mistake, not part of a name.
      const [first, second] = words;
      if (first && second && words.some((w) => STRIPE_ID.test(w))) {
        throw new UsageError(command, usage, `One at a time: "${second}" is one word too many.`);
      }
      const word = words.join(' ');
      if (word === '') throw new UsageError(command, usage, `Which ${o.what.replace(/ \| /g, ' or ')}?`);
      await open(req, ctx, o.action, word);
    },
  };
}

const CREDIT_USAGE = 'credit <customer> [amount] [reason]';

/** The reason code a word names (its code or its label, any case). */
function reasonFrom(ctx: SlackContext, word: string): string | null {
  const w = word.toLowerCase();
  return reasonCodes(ctx.config).find((r) => r.code === w || r.label.toLowerCase() === w)?.code ?? null;
}

function isCurrencyCode(word: string): boolean {
  if (!/^[A-Za-z]{3}$/.test(word)) return false;
  try {
    normalizeCurrency(word);
    return true;
  } catch {
    return false;
  }
}

/** `/billing credit <customer> [amount] [reason]` — a name of several words goes in quotes. */
export const creditCommand: Subcommand = {
  name: 'credit',
  usage: CREDIT_USAGE,
  summary: "put a credit on a customer's balance (with a reason code); needs approval above the policy's amounts",
  async run(req, ctx) {
    const command = ctx.config.file.slack.command;
    const [first, ...rest] = req.args.map((a) => fromSlackText(a).trim());
    if (!first) throw new UsageError(command, CREDIT_USAGE, 'Which customer? Give a Stripe customer id, an email address or the name (in quotes if it has spaces).');
    const words = [...rest];
    let reasonCode: string | undefined;
    const last = words.at(-1);
    if (last !== undefined && words.length > 0 && reasonFrom(ctx, last) && !/\d/.test(last)) {
      reasonCode = reasonFrom(ctx, last) ?? undefined;
      words.pop();
    }
    let amountText: string | undefined;
    if (words.length > 0) {
      amountText = words.shift();
      // "250 EUR" / "EUR 250": a currency code next to the amount belongs to it.
      if (words[0] && isCurrencyCode(words[0]) && amountText && /\d/.test(amountText)) amountText = `${amountText} ${words.shift()}`;
      else if (amountText && isCurrencyCode(amountText) && words[0]) amountText = `${amountText} ${words.shift()}`;
    }
    if (words.length > 0) {
      const word = words[0] ?? '';
      const codes = reasonCodes(ctx.config).map((r) => r.code).join(', ');
      throw new UsageError(
        command,
        CREDIT_USAGE,
        amountText && !/\d/.test(amountText)
          ? `"${amountText}" is not an amount. A customer name of several words goes in quotes: \`${command} credit "Acme Corp" 250\`.`
          : `"${word}" is not a reason code. Use one of: ${codes}.`,
      );
    }
    const target = await loadActionTarget(ctx, 'credit', first);
    const initial: MoneyModalInitial = {};
    if (reasonCode) initial.reasonCode = reasonCode;
    if (amountText) {
      const fallback = target.card.customer.currency?.toUpperCase() ?? ctx.config.file.org.functional_currency;
      try {
        const m = parseUserAmount(amountText, { currency: fallback });
        initial.amount = minorToDecimal(m.amount, m.currency);
        initial.currency = m.currency;
      } catch (err) {
        if (!isUserError(err)) throw err;
        throw new UsageError(command, CREDIT_USAGE, `"${amountText}" is not an amount to credit: ${err.message}`);
      }
    }
    await openMoneyModal(req.client, ctx, { triggerId: req.triggerId, action: 'credit', target, initial, origin: modalOrigin(req) });
  },
};

const TRIAL_USAGE = 'trial <customer | sub_…> [days | YYYY-MM-DD]';

/** `/billing trial <customer | sub_…> [days | YYYY-MM-DD]`. */
export const trialCommand: Subcommand = {
  name: 'trial',
  usage: TRIAL_USAGE,
  summary: 'extend a trial by some days or to a date (no proration)',
  async run(req, ctx) {
    const command = ctx.config.file.slack.command;
    const words = req.args.map((a) => fromSlackText(a).trim()).filter(Boolean);
    const initial: MoneyModalInitial = {};
    const last = words.at(-1);
    if (words.length > 1 && last !== undefined) {
      if (DAYS.test(last)) {
        initial.days = last;
        words.pop();
      } else if (ISO_DAY.test(last)) {
        initial.trialEnd = last;
        words.pop();
      } else if (/^[\d-]+$/.test(last)) {
        throw new UsageError(command, TRIAL_USAGE, `"${last}" is neither a number of days nor a date (YYYY-MM-DD).`);
      }
    }
    const word = words.join(' ');
    if (word === '') throw new UsageError(command, TRIAL_USAGE, 'Which customer or subscription (`sub_…`)?');
    await open(req, ctx, 'extend_trial', word, initial);
  },
};

export const pauseCommand = targetCommand({
  name: 'pause',
  action: 'pause_collection',
  what: 'customer | sub_…',
  summary: 'pause payment collection on a subscription (e.g. for a promise to pay)',
});
export const resumeCommand = targetCommand({ name: 'resume', action: 'resume_collection', what: 'customer | sub_…', summary: 'resume paused collection' });
export const cancelCommand = targetCommand({
  name: 'cancel',
  action: 'cancel_at_period_end',
  what: 'customer | sub_…',
  summary: 'cancel a subscription at the end of its period',
});
export const uncancelCommand = targetCommand({ name: 'uncancel', action: 'undo_cancel', what: 'customer | sub_…', summary: 'undo a cancellation at period end' });
export const voidCommand = targetCommand({ name: 'void', action: 'void_invoice', what: 'in_… | customer', summary: 'void an open invoice' });
export const writeoffCommand = targetCommand({
  name: 'writeoff',
  action: 'mark_uncollectible',
  what: 'in_… | customer',
  summary: 'write an open invoice off as uncollectible',
});

/** `/billing approvals`: requests waiting for the person's decision, and their own. */
export const approvalsCommand: Subcommand = {
  name: 'approvals',
  usage: 'approvals',
  summary: 'money-action requests waiting for your approval, and your own requests',
  async run(req, ctx) {
    if (req.args.length > 0) {
      throw new UsageError(ctx.config.file.slack.command, 'approvals', `\`approvals\` takes no words; "${req.args[0] ?? ''}" is one too many.`);
    }
    const msg = await approvalsList(req.client, ctx, req.userId);
    await req.respond({ response_type: 'ephemeral', ...msg });
  },
};

export const MONEY_SUBCOMMANDS: readonly Subcommand[] = [
  creditCommand,
  trialCommand,
  pauseCommand,
  resumeCommand,
  cancelCommand,
  uncancelCommand,
  voidCommand,
  writeoffCommand,
  approvalsCommand,
];
