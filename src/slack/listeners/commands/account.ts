import { accountCard, findAccounts } from '../../../accounts/index.js';
import { accountCardBlocks, accountChooserBlocks, accountNotFoundBlocks, CHOOSER_MAX } from '../../blocks/index.js';
import { ledgerForCard } from '../../approvals/index.js';
import type { SlackContext } from '../../context.js';
import { type Subcommand, UsageError } from './billing.js';

const USAGE = 'account <customer id | email | name>';

/** Slack sends &, < and > in a command's text as entities; the lookup is for what was typed. */
function fromSlackText(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * `/billing account <customer id | email | name>`: the account card, only for the person asking.
 * One match opens the card; several are offered as buttons (the action listener in
 * ../actions/account.ts opens the one picked); none says what was searched.
 */
export const accountCommand: Subcommand = {
  name: 'account',
  usage: USAGE,
  summary: "a customer's plan, MRR, credit, open invoices, failed payments, disputes, exceptions and recent activity",
  async run(req, ctx: SlackContext) {
    const query = fromSlackText(req.args.join(' ')).trim();
    if (query === '') {
      throw new UsageError(ctx.config.file.slack.command, USAGE, 'Which account? Give a Stripe customer id, an email address or (part of) a name.');
    }
    const search = await findAccounts(ctx.db.db, query, { limit: CHOOSER_MAX });
    const timeZone = ctx.config.file.org.timezone;
    const [only] = search.matches;
    if (search.total === 0 || !only) {
      await req.respond({ response_type: 'ephemeral', ...accountNotFoundBlocks(search) });
      return;
    }
    if (search.total > 1) {
      await req.respond({ response_type: 'ephemeral', ...accountChooserBlocks(search, { timeZone }) });
      return;
    }
    const [card, ledger] = await Promise.all([accountCard(ctx.db.db, only.id, { clock: ctx.clock, config: ctx.config }), ledgerForCard(ctx, only.id)]);
    await req.respond({ response_type: 'ephemeral', ...accountCardBlocks(card, { timeZone }, { ledger }) });
  },
};
