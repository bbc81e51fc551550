import type { AllMiddlewareArgs, App, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { z } from 'zod';
import { type ApprovalRequestView, createRequest, decide } from '../../../approvals/index.js';
import { isUserError } from '../../../util/index.js';
import { MONEY_FIELD_BLOCKS, REJECT_FIELDS, VIEW, fieldBlockFor, plainMentions } from '../../blocks/index.js';
import { esc } from '../../blocks/format.js';
import type { SlackContext } from '../../context.js';
import { describeFailure } from '../../errors.js';
import { announceRequestChange, approvalDeps } from '../../approvals/index.js';
import { type MoneyModalMetadata, decodeMoneyMetadata, readMoneySubmission, stateValuesSchema } from '../../approvals/modals.js';
import { afterRequestCreated, answerClicker, slackOrigin } from '../approval-surfaces.js';
import { type ModalMetadata, decodeMetadata, reportFailure } from '../exception-surfaces.js';

type ViewArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

/** The fields of a view_submission payload these listeners rely on. */
const submissionSchema = z.object({
  user: z.object({ id: z.string().min(1), username: z.string().optional(), name: z.string().optional(), team_id: z.string().optional() }),
  view: z.object({ id: z.string(), private_metadata: z.string(), state: z.object({ values: stateValuesSchema }) }),
});

/** A failure as a field error: a UserError's message (mentions as plain names), anything else with an error id. */
function errorText(err: unknown, ctx: SlackContext, context: Record<string, unknown>): string {
  return isUserError(err) ? plainMentions(err.message) : describeFailure(err, ctx.logger, context).text;
}

/**
 * The money-action modal's submission: the form read back (field errors keep the modal open), the
 * request made (the approvals capability's field errors land on the field they name), then the
 * modal closes and the request is posted for approval or — within policy — handed to the executor.
 */
async function submitMoneyAction({ ack, body, client }: ViewArgs, ctx: SlackContext): Promise<void> {
  const parsed = submissionSchema.safeParse(body);
  let meta: MoneyModalMetadata;
  try {
    if (!parsed.success) throw new Error(`unexpected view_submission payload: ${parsed.error.issues[0]?.message ?? ''}`);
    meta = decodeMoneyMetadata(parsed.data.view.private_metadata);
  } catch (err) {
    await ack({ response_action: 'errors', errors: { [MONEY_FIELD_BLOCKS.note]: describeFailure(err, ctx.logger, { view: VIEW.moneyAction }).text } });
    return;
  }
  const s = parsed.data;
  let request: ApprovalRequestView;
  try {
    const reading = await readMoneySubmission(ctx, meta, s.view.state.values);
    if (reading.errors) {
      await ack({ response_action: 'errors', errors: reading.errors });
      return;
    }
    request = await createRequest(approvalDeps(ctx, client), { params: reading.params, requester: slackOrigin(s.user, meta.o) });
  } catch (err) {
    const field = isUserError(err) ? err.field : undefined;
    const text = errorText(err, ctx, { view: VIEW.moneyAction, user: s.user.id, action: meta.a });
    await ack({ response_action: 'errors', errors: { [fieldBlockFor(meta.a, field)]: text } });
    return;
  }
  await ack();
  try {
    await afterRequestCreated(client, ctx, request, meta.o, s.user.id);
  } catch (err) {
    await reportFailure(client, ctx, meta.o, s.user.id, err, { view: VIEW.moneyAction, request: request.id }, `Request #${request.id} is made.`);
  }
}

/** The reject modal's submission: a reason is required; a refusal (own request, not an approver…) stays on the reason field. */
async function submitReject({ ack, body, client }: ViewArgs, ctx: SlackContext): Promise<void> {
  const parsed = submissionSchema.safeParse(body);
  let meta: ModalMetadata;
  try {
    if (!parsed.success) throw new Error(`unexpected view_submission payload: ${parsed.error.issues[0]?.message ?? ''}`);
    meta = decodeMetadata(parsed.data.view.private_metadata);
  } catch (err) {
    await ack({ response_action: 'errors', errors: { [REJECT_FIELDS.reasonBlock]: describeFailure(err, ctx.logger, { view: VIEW.approvalReject }).text } });
    return;
  }
  const s = parsed.data;
  const reason = s.view.state.values[REJECT_FIELDS.reasonBlock]?.[REJECT_FIELDS.reasonAction]?.value?.trim() ?? '';
  if (reason === '') {
    await ack({ response_action: 'errors', errors: { [REJECT_FIELDS.reasonBlock]: 'Say why it is rejected: the requester reads this.' } });
    return;
  }
  let res: Awaited<ReturnType<typeof decide>>;
  try {
    res = await decide(approvalDeps(ctx, client), { requestId: meta.id, decision: 'reject', reason, actor: slackOrigin(s.user, meta.origin) });
  } catch (err) {
    await ack({ response_action: 'errors', errors: { [REJECT_FIELDS.reasonBlock]: errorText(err, ctx, { view: VIEW.approvalReject, user: s.user.id }) } });
    return;
  }
  if (res.outcome === 'refused') {
    await ack({ response_action: 'errors', errors: { [REJECT_FIELDS.reasonBlock]: plainMentions(res.message) } });
    return;
  }
  await ack();
  const r = res.request;
  try {
    await announceRequestChange(client, ctx, r);
    await answerClicker(client, ctx, meta.origin, s.user.id, `:no_entry_sign: You rejected request #${r.id} *${esc(r.title)}*. The requester gets your reason by DM.`, r.message);
  } catch (err) {
    await reportFailure(client, ctx, meta.origin, s.user.id, err, { view: VIEW.approvalReject, request: r.id }, `Request #${r.id} is rejected.`);
  }
}

export function registerApprovalViews(app: App, ctx: SlackContext): void {
  app.view<ViewSubmitAction>(VIEW.moneyAction, (args) => submitMoneyAction(args, ctx));
  app.view<ViewSubmitAction>(VIEW.approvalReject, (args) => submitReject(args, ctx));
}
