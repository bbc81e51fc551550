import type { BillopsFile } from '../../../config/index.js';
import { type Jobs, reconcileJobSummarySchema, runJobOnce } from '../../../jobs/index.js';
import { UserError } from '../../../util/index.js';
import {
  type JobsMessage,
  reconcileAlreadyRunningBlocks,
  reconcileFailedBlocks,
  reconcileNotAllowedBlocks,
  reconcileResultBlocks,
  reconcileStartedBlocks,
} from '../../blocks/index.js';
import type { SlackContext } from '../../context.js';
import { hasRole } from '../../roles.js';
import { type Subcommand, type SubcommandRequest, UsageError } from './billing.js';

/**
 * Who may start a reconcile: importers and admins. With nobody listed under either role everyone may
 * (a fresh install works before roles are set up). User groups need a Slack call, so they are
 * checked after the ack.
 */
export function reconcileAccess(roles: BillopsFile['roles'], userId: string): 'allowed' | 'denied' | 'check_groups' {
  const entries = [...roles.importer, ...roles.admin];
  if (entries.length === 0 || entries.includes(userId)) return 'allowed';
  return entries.some((id) => id.startsWith('S')) ? 'check_groups' : 'denied';
}

export function jobsOf(ctx: SlackContext): Jobs {
  if (!ctx.jobs) throw new Error('the job runner is not wired into the Slack context');
  return ctx.jobs;
}

/** The result goes to the conversation it was asked in; response_url first, the bot's own post if that fails. */
async function postInConversation(req: SubcommandRequest, ctx: SlackContext, msg: JobsMessage): Promise<void> {
  try {
    await req.respond({ response_type: 'in_channel', replace_original: false, ...msg });
  } catch (err) {
    ctx.logger.warn({ err, channel: req.channelId }, 'response_url failed; posting the reconcile result with chat.postMessage');
    await req.client.chat.postMessage({ channel: req.channelId, text: msg.text, blocks: msg.blocks, unfurl_links: false });
  }
}

async function tellRequester(req: SubcommandRequest, msg: JobsMessage): Promise<void> {
  await req.respond({ response_type: 'ephemeral', replace_original: false, ...msg });
}

export const reconcileCommand: Subcommand = {
  name: 'reconcile',
  usage: 'reconcile',
  summary: 'match Stripe against the GL now; the result is posted here',
  acknowledge(req, ctx) {
    if (req.args.length > 0) {
      throw new UsageError(ctx.config.file.slack.command, 'reconcile', `\`reconcile\` takes no arguments (got "${req.args.join(' ')}").`);
    }
    const access = reconcileAccess(ctx.config.file.roles, req.userId);
    if (access === 'denied') throw new UserError(reconcileNotAllowedBlocks(req.userId).text);
    // A user-group member is told "Reconciling…" once Slack has confirmed the membership.
    return access === 'allowed' ? { response_type: 'ephemeral', ...reconcileStartedBlocks() } : undefined;
  },
  async run(req, ctx) {
    const jobs = jobsOf(ctx);
    const roles = ctx.config.file.roles;
    if (reconcileAccess(roles, req.userId) === 'check_groups') {
      if (!(await hasRole(req.client, roles, 'importer', req.userId))) {
        await tellRequester(req, reconcileNotAllowedBlocks(req.userId));
        return;
      }
      await tellRequester(req, reconcileStartedBlocks());
    }
    const result = await runJobOnce(jobs, 'reconcile', ctx.clock.now(), 'slack', {
      actor: { kind: 'slack_user', id: req.userId },
      context: { team: req.teamId, channel: req.channelId },
    });
    switch (result.status) {
      case 'succeeded':
        await postInConversation(
          req,
          ctx,
          reconcileResultBlocks({
            summary: reconcileJobSummarySchema.parse(result.summary),
            requestedBy: req.userId,
            durationMs: result.durationMs,
            jobRunId: result.runId,
          }),
        );
        return;
      case 'already_running':
        await tellRequester(req, reconcileAlreadyRunningBlocks(result.running, ctx.config.file.org.timezone));
        return;
      case 'failed':
        await tellRequester(req, reconcileFailedBlocks(result));
        return;
      case 'not_claimed':
        throw new Error('a reconcile asked for in Slack has no tick to claim');
    }
  },
};
