import type { AllMiddlewareArgs, App, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import { type ApprovalRequestView, createRequest } from '../../../approvals/index.js';
import { type ExceptionView, RESOLUTION_CODES, type ResolutionCode, getException, resolve, snooze, snoozeUntilDay } from '../../../exceptions/index.js';
import { isUserError } from '../../../util/index.js';
import { RESOLVE_FIELDS, SNOOZE_FIELDS, VIEW, plainMentions } from '../../blocks/index.js';
import type { SlackContext } from '../../context.js';
import { describeFailure } from '../../errors.js';
import { approvalDeps } from '../../approvals/index.js';
import { resolveNeedsApproval } from '../../approvals/resolve.js';
import { contextOf } from '../actions/exceptions.js';
import { afterRequestCreated, slackOrigin } from '../approval-surfaces.js';
import { type ModalMetadata, decodeMetadata, refreshOrigin, renderClock, reportFailure, slackActor } from '../exception-surfaces.js';

type ViewArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/** The fields of a view_submission payload these listeners rely on. */
const submissionSchema = z.object({
  user: z.object({ id: z.string().min(1), username: z.string().optional(), name: z.string().optional() }),
  view: z.object({
    id: z.string(),
    private_metadata: z.string(),
    state: z.object({
      values: z.record(
        z.string(),
        z.record(
          z.string(),
          z.object({
            value: z.string().nullish(),
            selected_date: z.string().nullish(),
            selected_option: z.object({ value: z.string() }).nullish(),
          }),
        ),
      ),
    }),
  }),
});
type Submission = z.infer<typeof submissionSchema>;

/** How long a field error may wait for Slack to say who `<@U…>` is (the ack has 3 seconds in all). */
const NAME_LOOKUP_MS = 800;

/**
 * Field errors are plain text, so `<@U…>` would show as markup: put the person's Slack name there
 * instead, or their id when Slack does not answer quickly.
 */
async function readable(client: WebClient, ctx: SlackContext, text: string): Promise<string> {
  const ids = [...new Set([...text.matchAll(/<@([UW][A-Z0-9]+)>/g)].map((m) => m[1] ?? ''))].filter(Boolean);
  if (ids.length === 0) return text;
  const names = new Map<string, string>();
  const lookups = ids.map(async (id) => {
    try {
      const res = await client.users.info({ user: id });
      const name = res.user?.profile?.display_name || res.user?.real_name || res.user?.name;
      if (name) names.set(id, name);
    } catch (err) {
      ctx.logger.warn({ err, user: id }, 'users.info failed; showing the user id in a field error');
    }
  });
  await Promise.race([Promise.all(lookups), new Promise((r) => setTimeout(r, NAME_LOOKUP_MS).unref())]);
  return plainMentions(text, names);
}

interface Outcome {
  errors?: Record<string, string>;
  exception?: ExceptionView;
  /** Not done directly: an approval request was made instead (a high-value resolve). */
  request?: ApprovalRequestView;
}

/**
 * Run a transition for a modal and answer Slack: field errors keep the modal open (a UserError from
 * the service, e.g. "already resolved by …", lands on the field it names or the first one);
 * otherwise the modal closes and the place the person came from is brought up to date.
 */
function submission(
  ctx: SlackContext,
  name: string,
  run: (s: Submission, meta: ModalMetadata, client: WebClient) => Promise<Outcome>,
  fieldBlock: (field: string | undefined) => string,
  action: 'resolved' | 'snoozed',
) {
  return async ({ ack, body, client }: ViewArgs): Promise<void> => {
    const parsed = submissionSchema.safeParse(body);
    let meta: ModalMetadata;
    try {
      if (!parsed.success) throw new Error(`unexpected view_submission payload: ${parsed.error.issues[0]?.message ?? ''}`);
      meta = decodeMetadata(parsed.data.view.private_metadata);
    } catch (err) {
      const msg = describeFailure(err, ctx.logger, { view: name });
      await ack({ response_action: 'errors', errors: { [fieldBlock(undefined)]: msg.text } });
      return;
    }
    const s = parsed.data;
    let outcome: Outcome;
    try {
      outcome = await run(s, meta, client);
    } catch (err) {
      const text = isUserError(err) ? await readable(client, ctx, err.message) : describeFailure(err, ctx.logger, { view: name, user: s.user.id }).text;
      await ack({ response_action: 'errors', errors: { [fieldBlock(isUserError(err) ? err.field : undefined)]: text } });
      return;
    }
    if (outcome.errors) {
      await ack({ response_action: 'errors', errors: outcome.errors });
      return;
    }
    await ack();
    if (outcome.request) {
      const r = outcome.request;
      try {
        await afterRequestCreated(client, ctx, r, meta.origin, s.user.id);
      } catch (err) {
        await reportFailure(client, ctx, meta.origin, s.user.id, err, { view: name, request: r.id }, `Approval request #${r.id} is made.`);
      }
      return;
    }
    const e = outcome.exception;
    if (!e) return;
    try {
      await refreshOrigin({ client, ctx, origin: meta.origin, userId: s.user.id, exception: e, action });
    } catch (err) {
      const done = `#${e.id} is ${action}.`;
      await reportFailure(client, ctx, meta.origin, s.user.id, err, { view: name, exception: e.id.toString() }, done);
    }
  };
}

function stateOf(s: Submission, block: string, action: string) {
  return s.view.state.values[block]?.[action];
}

export function registerExceptionViews(app: App, ctx: SlackContext): void {
  app.view<ViewSubmitAction>(
    VIEW.exceptionResolve,
    submission(
      ctx,
      VIEW.exceptionResolve,
      async (s, meta, client) => {
        const code = stateOf(s, RESOLVE_FIELDS.codeBlock, RESOLVE_FIELDS.codeAction)?.selected_option?.value;
        const note = stateOf(s, RESOLVE_FIELDS.noteBlock, RESOLVE_FIELDS.noteAction)?.value ?? '';
        if (!code || !(RESOLUTION_CODES as readonly string[]).includes(code)) {
          return { errors: { [RESOLVE_FIELDS.codeBlock]: 'Pick how it was resolved.' } };
        }
        // Over the policy's threshold (approvals.policies.resolve_exception) resolving needs an approver.
        const current = await getException(ctx.db.db, meta.id, { clock: ctx.clock });
        if (resolveNeedsApproval(ctx.config, current)) {
          const request = await createRequest(approvalDeps(ctx, client), {
            params: { action: 'resolve_exception', exceptionId: current.id.toString(), resolutionCode: code, note },
            requester: slackOrigin(s.user, meta.origin),
          });
          return { request };
        }
        const exception = await resolve(ctx.db.db, meta.id, {
          actor: slackActor(s.user),
          code: code as ResolutionCode,
          note,
          source: 'slack',
          clock: ctx.clock,
          context: { ...contextOf(meta.origin), view_id: s.view.id },
        });
        return { exception };
      },
      (field) => (field === 'note' ? RESOLVE_FIELDS.noteBlock : RESOLVE_FIELDS.codeBlock),
      'resolved',
    ),
  );

  app.view<ViewSubmitAction>(
    VIEW.exceptionSnooze,
    submission(
      ctx,
      VIEW.exceptionSnooze,
      async (s, meta) => {
        const day = stateOf(s, SNOOZE_FIELDS.untilBlock, SNOOZE_FIELDS.untilAction)?.selected_date;
        const clock = renderClock(ctx);
        const until = snoozeUntilDay(day, clock.timeZone, clock.now);
        const exception = await snooze(ctx.db.db, meta.id, {
          actor: slackActor(s.user),
          until,
          source: 'slack',
          clock: ctx.clock,
          context: { ...contextOf(meta.origin), view_id: s.view.id },
        });
        return { exception };
      },
      () => SNOOZE_FIELDS.untilBlock,
      'snoozed',
    ),
  );
}
