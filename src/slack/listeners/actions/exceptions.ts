import type { AllMiddlewareArgs, App, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import { z } from 'zod';
import { listAudit } from '../../../audit/index.js';
import { assign, dayIn, getException, parseExceptionId } from '../../../exceptions/index.js';
import { UserError } from '../../../util/index.js';
import {
  ACTION,
  actionIdPattern,
  exceptionDetailsMessage,
  exceptionDetailsModal,
  isActive,
  resolveModal,
  snoozeModal,
  statusText,
} from '../../blocks/index.js';
import { resolveNeedsApproval } from '../../approvals/resolve.js';
import type { SlackContext } from '../../context.js';
import {
  type Origin,
  encodeMetadata,
  listMessage,
  listQuerySchema,
  postToResponseUrl,
  refreshOrigin,
  renderClock,
  reportFailure,
  slackActor,
  tellPerson,
} from '../exception-surfaces.js';

export type ActionArgs = SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs;

/** The fields of a block_actions payload these listeners rely on. */
export const clickSchema = z.object({
  user: z.object({ id: z.string().min(1), username: z.string().optional(), name: z.string().optional(), team_id: z.string().optional() }),
  trigger_id: z.string().min(1),
  container: z.object({
    type: z.string(),
    is_ephemeral: z.boolean().optional(),
    channel_id: z.string().optional(),
    message_ts: z.string().optional(),
  }),
  channel: z.object({ id: z.string() }).optional(),
  response_url: z.string().optional(),
  message: z.object({ ts: z.string(), text: z.string().optional(), blocks: z.array(z.record(z.string(), z.unknown())).optional() }).optional(),
  actions: z.array(z.object({ action_id: z.string(), block_id: z.string(), value: z.string().optional() })).min(1),
});
export type Click = z.infer<typeof clickSchema>;

export function originOf(c: Click): Origin {
  const blockId = c.actions[0]?.block_id ?? '';
  if (c.container.type === 'view') return { kind: 'home' };
  const channel = c.container.channel_id ?? c.channel?.id;
  if (!channel) throw new Error('block_actions payload names no channel for a message button');
  if (c.container.is_ephemeral) {
    if (!c.response_url) throw new Error('block_actions on an ephemeral message without a response_url');
    return { kind: 'ephemeral', channel, responseUrl: c.response_url, blockId };
  }
  const ts = c.container.message_ts ?? c.message?.ts;
  if (!ts) throw new Error('block_actions payload names no message ts');
  return { kind: 'message', channel, ts, blockId };
}

function messageOf(c: Click): { text: string | undefined; blocks: KnownBlock[] } | undefined {
  if (!c.message?.blocks) return undefined;
  return { text: c.message.text, blocks: c.message.blocks as unknown as KnownBlock[] };
}

/**
 * Parse, ack, then work. Every failure reaches the person: a UserError as is, anything else (a
 * Slack API error, ok:false, a bug) through describeFailure with an id in the logs.
 */
export function handler(ctx: SlackContext, name: string, work: (c: Click, origin: Origin, args: ActionArgs) => Promise<void>) {
  return async (args: ActionArgs): Promise<void> => {
    await args.ack();
    const parsed = clickSchema.safeParse(args.body);
    if (!parsed.success) {
      ctx.logger.error({ issues: parsed.error.issues, action: name }, 'unexpected block_actions payload');
      return;
    }
    const click = parsed.data;
    let origin: Origin;
    try {
      origin = originOf(click);
    } catch (err) {
      ctx.logger.error({ err, action: name }, 'cannot tell where a button was clicked');
      return;
    }
    try {
      await work(click, origin, args);
    } catch (err) {
      await reportFailure(args.client, ctx, origin, click.user.id, err, { action: name });
    }
  };
}

function exceptionIdOf(c: Click): bigint {
  return parseExceptionId(c.actions[0]?.value ?? '');
}

export function registerExceptionActions(app: App, ctx: SlackContext): void {
  app.action<BlockAction>(
    actionIdPattern(ACTION.exceptionAssignMe),
    handler(ctx, ACTION.exceptionAssignMe, async (c, origin, { client }) => {
      const e = await assign(ctx.db.db, exceptionIdOf(c), {
        actor: slackActor(c.user),
        to: c.user.id,
        source: 'slack',
        clock: ctx.clock,
        context: contextOf(origin),
      });
      await refreshAfter(client, ctx, origin, c, e, 'assigned');
    }),
  );

  app.action<BlockAction>(
    actionIdPattern(ACTION.exceptionResolve),
    handler(ctx, ACTION.exceptionResolve, async (c, origin, { client }) => {
      const e = await getException(ctx.db.db, exceptionIdOf(c), { clock: ctx.clock });
      const clock = renderClock(ctx);
      if (!isActive(e)) throw new UserError(`Exception #${e.id}: ${statusText(e, clock)} — there is nothing left to resolve.`);
      const needsApproval = resolveNeedsApproval(ctx.config, e);
      await client.views.open({ trigger_id: c.trigger_id, view: resolveModal(e, encodeMetadata({ id: e.id.toString(), origin }), clock, { needsApproval }) });
    }),
  );

  app.action<BlockAction>(
    actionIdPattern(ACTION.exceptionSnooze),
    handler(ctx, ACTION.exceptionSnooze, async (c, origin, { client }) => {
      const e = await getException(ctx.db.db, exceptionIdOf(c), { clock: ctx.clock });
      const clock = renderClock(ctx);
      if (!isActive(e)) throw new UserError(`Exception #${e.id}: ${statusText(e, clock)} — it cannot be snoozed.`);
      const suggested = dayIn(clock.timeZone, new Date(clock.now.getTime() + 7 * 86_400_000));
      const view = snoozeModal(e, encodeMetadata({ id: e.id.toString(), origin }), { ...clock, suggested });
      await client.views.open({ trigger_id: c.trigger_id, view });
    }),
  );

  app.action<BlockAction>(
    actionIdPattern(ACTION.exceptionDetails),
    handler(ctx, ACTION.exceptionDetails, async (c, origin, { client }) => {
      const e = await getException(ctx.db.db, exceptionIdOf(c), { clock: ctx.clock });
      const history = await listAudit(ctx.db.db, { entity: { type: 'exception', id: e.id.toString() } });
      const clock = renderClock(ctx);
      if (origin.kind === 'home') {
        await client.views.open({ trigger_id: c.trigger_id, view: exceptionDetailsModal(e, history, clock) });
        return;
      }
      const msg = exceptionDetailsMessage(e, history, clock);
      if (c.response_url) {
        await postToResponseUrl(c.response_url, { response_type: 'ephemeral', replace_original: false, ...msg });
      } else {
        await tellPerson(client, ctx, origin, c.user.id, msg);
      }
    }),
  );

  app.action<BlockAction>(
    actionIdPattern(ACTION.exceptionPage),
    handler(ctx, ACTION.exceptionPage, async (c, origin, { client }) => {
      let value: unknown;
      try {
        value = JSON.parse(c.actions[0]?.value ?? '');
      } catch {
        throw new Error(`pager button value is not JSON: ${c.actions[0]?.value ?? ''}`);
      }
      const query = listQuerySchema.parse(value);
      const msg = await listMessage(ctx, query, c.user.id);
      if (origin.kind === 'ephemeral') {
        await postToResponseUrl(origin.responseUrl, { replace_original: true, response_type: 'ephemeral', ...msg });
      } else if (origin.kind === 'message') {
        await client.chat.update({ channel: origin.channel, ts: origin.ts, text: msg.text, blocks: msg.blocks });
      }
    }),
  );
}

/** Where the action came from, for the audit entry. */
export function contextOf(origin: Origin): Record<string, unknown> {
  if (origin.kind === 'home') return { surface: 'home' };
  return origin.kind === 'message'
    ? { surface: 'message', channel: origin.channel, message_ts: origin.ts }
    : { surface: 'ephemeral', channel: origin.channel };
}

async function refreshAfter(
  client: ActionArgs['client'],
  ctx: SlackContext,
  origin: Origin,
  c: Click,
  e: Awaited<ReturnType<typeof assign>>,
  action: 'assigned',
): Promise<void> {
  try {
    await refreshOrigin({ client, ctx, origin, userId: c.user.id, exception: e, action, message: messageOf(c) });
  } catch (err) {
    await reportFailure(client, ctx, origin, c.user.id, err, { action: 'refresh', exception: e.id.toString() }, `#${e.id} is assigned to you.`);
  }
}
