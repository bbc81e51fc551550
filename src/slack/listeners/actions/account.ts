import type { AllMiddlewareArgs, App, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import { z } from 'zod';
import { accountCard } from '../../../accounts/index.js';
import { ACTION, CHOOSER_BLOCK_PREFIX, accountCardBlocks, actionIdPattern } from '../../blocks/index.js';
import { ledgerForCard } from '../../approvals/index.js';
import type { SlackContext } from '../../context.js';
import { describeFailure } from '../../errors.js';

type ActionArgs = SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs;

/** The fields of the click this listener relies on. */
const clickSchema = z.object({
  user: z.object({ id: z.string().min(1) }),
  response_url: z.string().optional(),
  actions: z
    .array(z.object({ action_id: z.string(), block_id: z.string(), value: z.string().regex(/^cus_[A-Za-z0-9_]{1,250}$/, 'must be a Stripe customer id') }))
    .min(1),
});

/**
 * "Open" on an account (`account_open`, value: the Stripe customer id): the account card, only for
 * the person who clicked. Picked from the chooser, the card replaces the chooser; from any other
 * message (a digest, an alert) it comes as a new ephemeral answer and the message stays.
 */
export function registerAccountActions(app: App, ctx: SlackContext): void {
  app.action(actionIdPattern(ACTION.accountOpen), async ({ ack, body, respond, client }: ActionArgs) => {
    await ack();
    const parsed = clickSchema.safeParse(body);
    if (!parsed.success) {
      ctx.logger.error({ issues: parsed.error.issues, action: ACTION.accountOpen }, 'unexpected block_actions payload');
      return;
    }
    const click = parsed.data;
    const action = click.actions[0];
    if (!action) return;
    const fromChooser = action.block_id.startsWith(`${CHOOSER_BLOCK_PREFIX}:`);
    // A button in a view (the Home tab) has no response_url: the card goes to the person's DM with the app.
    const answer = async (msg: { text: string; blocks: KnownBlock[] }, replace: boolean): Promise<void> => {
      if (click.response_url) await respond({ response_type: 'ephemeral', replace_original: replace, ...msg });
      else await client.chat.postMessage({ channel: click.user.id, ...msg });
    };
    try {
      const [card, ledger] = await Promise.all([
        accountCard(ctx.db.db, action.value, { clock: ctx.clock, config: ctx.config }),
        ledgerForCard(ctx, action.value),
      ]);
      await answer(accountCardBlocks(card, { timeZone: ctx.config.file.org.timezone }, { ledger }), fromChooser);
    } catch (err) {
      await answer(describeFailure(err, ctx.logger, { action: ACTION.accountOpen, user: click.user.id, customer: action.value }), false);
    }
  });
}
