import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { z } from 'zod';
import type { SlackContext } from '../../context.js';
import { publishHome } from '../exception-surfaces.js';

type HomeArgs = SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs;

const homeOpened = z.object({ type: z.literal('app_home_opened'), user: z.string().min(1), tab: z.string().optional() });

/**
 * Someone opened billops' Home tab: publish it fresh (headline numbers, their exceptions, approvals
 * waiting for them). The Messages tab raises the same event with `tab: messages`; nothing to do then.
 * A failure is logged: there is no message to answer, and the tab is published again next time.
 */
export function appHomeOpenedListener(ctx: SlackContext) {
  return async ({ event, client }: HomeArgs): Promise<void> => {
    const parsed = homeOpened.safeParse(event);
    if (!parsed.success || (parsed.data.tab !== undefined && parsed.data.tab !== 'home')) return;
    try {
      await publishHome(client, ctx, parsed.data.user);
    } catch (err) {
      ctx.logger.error({ err, user: parsed.data.user }, 'could not publish the Home tab');
    }
  };
}
