import type { App, BlockAction } from '@slack/bolt';
import { decide, getRequest, retryRequest } from '../../../approvals/index.js';
import { UserError } from '../../../util/index.js';
import { ACTION, actionIdPattern, isMoneyAction, rejectModal } from '../../blocks/index.js';
import { esc } from '../../blocks/format.js';
import type { SlackContext } from '../../context.js';
import { announceRequestChange, approvalDeps, approvalRenderOptions, refreshApprovalMessage } from '../../approvals/index.js';
import { openMoneyModal } from '../../approvals/modals.js';
import { loadActionTarget } from '../../approvals/targets.js';
import { answerClicker, slackOrigin } from '../approval-surfaces.js';
import { encodeMetadata } from '../exception-surfaces.js';
import { type Click, handler } from './exceptions.js';

/**
 * The buttons of money actions: Approve / Reject / Retry on a request (in the approvals channel, the
 * Home tab, `/billing approvals`, the requester's DM) and the account card's action buttons, which
 * open the action's modal. Each parses the click, acks, calls the approvals capability and shows
 * what happened; refusals (own request, not an approver, twice, no longer pending) go only to the
 * person who clicked, and the request's message stays as it was.
 */

const REQUEST_ID = /^\d{1,18}$/;

function requestIdOf(c: Click): string {
  const value = c.actions[0]?.value ?? '';
  if (!REQUEST_ID.test(value)) throw new Error(`approval button value is not a request id: ${value}`);
  return value;
}

const REFUSED = ':no_entry_sign:';

export function registerApprovalActions(app: App, ctx: SlackContext): void {
  app.action<BlockAction>(
    actionIdPattern(ACTION.approvalApprove),
    handler(ctx, ACTION.approvalApprove, async (c, origin, { client }) => {
      const res = await decide(approvalDeps(ctx, client), {
        requestId: requestIdOf(c),
        decision: 'approve',
        actor: slackOrigin(c.user, origin),
      });
      if (res.outcome === 'refused') {
        // A click can be what finds a request past its expiry (decide marks it expired): the message
        // should stop offering the buttons. Re-rendering an unchanged request changes nothing.
        if (res.request.status === 'expired') {
          await refreshApprovalMessage(client, ctx, res.request.id).catch((err: unknown) => {
            ctx.logger.error({ err, request: res.request.id }, 'could not update an expired approval request message');
          });
        }
        await answerClicker(client, ctx, origin, c.user.id, `${REFUSED} ${res.message}`);
        return;
      }
      if (res.outcome === 'approved') ctx.approvals?.nudge();
      await announceRequestChange(client, ctx, res.request);
      const r = res.request;
      const notice =
        res.outcome === 'approved'
          ? `:white_check_mark: You approved request #${r.id} *${esc(r.title)}*: it is being executed in Stripe.`
          : `:white_check_mark: You approved request #${r.id} *${esc(r.title)}*; it needs ${r.requiredApprovals - r.approvals.length} more approval from someone else.`;
      await answerClicker(client, ctx, origin, c.user.id, notice, r.message);
    }),
  );

  app.action<BlockAction>(
    actionIdPattern(ACTION.approvalReject),
    handler(ctx, ACTION.approvalReject, async (c, origin, { client }) => {
      const id = requestIdOf(c);
      const r = await getRequest(ctx.db.db, id);
      if (!r) throw new UserError(`There is no approval request #${id}.`);
      if (r.status !== 'pending') {
        await answerClicker(client, ctx, origin, c.user.id, `${REFUSED} Request #${r.id} is ${r.status} already: there is nothing to reject.`);
        return;
      }
      const view = rejectModal(r, encodeMetadata({ id: r.id, origin }), approvalRenderOptions(ctx));
      await client.views.open({ trigger_id: c.trigger_id, view });
    }),
  );

  app.action<BlockAction>(
    actionIdPattern(ACTION.approvalRetry),
    handler(ctx, ACTION.approvalRetry, async (c, origin, { client }) => {
      const res = await retryRequest(approvalDeps(ctx, client), { requestId: requestIdOf(c), actor: slackOrigin(c.user, origin) });
      if (res.outcome === 'refused') {
        await answerClicker(client, ctx, origin, c.user.id, `${REFUSED} ${res.message}`);
        return;
      }
      ctx.approvals?.nudge();
      await announceRequestChange(client, ctx, res.request);
      const r = res.request;
      await answerClicker(client, ctx, origin, c.user.id, `:arrows_counterclockwise: Request #${r.id} *${esc(r.title)}* is queued to run again.`, r.message);
    }),
  );

  // The account card's buttons: `money_action:<action>`, value the customer id.
  app.action<BlockAction>(
    actionIdPattern(ACTION.moneyAction),
    handler(ctx, ACTION.moneyAction, async (c, origin, { client }) => {
      const action = (c.actions[0]?.action_id ?? '').slice(ACTION.moneyAction.length + 1);
      if (!isMoneyAction(action)) throw new Error(`unknown money action button: ${c.actions[0]?.action_id ?? ''}`);
      const customerId = c.actions[0]?.value ?? '';
      if (!/^cus_[A-Za-z0-9_]{1,250}$/.test(customerId)) throw new Error(`money action button value is not a customer id: ${customerId}`);
      const target = await loadActionTarget(ctx, action, customerId);
      await openMoneyModal(client, ctx, { triggerId: c.trigger_id, action, target, origin });
    }),
  );
}
