import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { z } from 'zod';
import { type GlImportResult, importGlExport } from '../../../ledger/index.js';
import { isUserError } from '../../../util/index.js';
import {
  type GlMessage,
  glAlreadyImportedBlocks,
  glFailedBlocks,
  glImportedBlocks,
  glNotAllowedBlocks,
  glNotCsvBlocks,
  glRejectedBlocks,
} from '../../blocks/index.js';
import type { SlackContext } from '../../context.js';
import { describeFailure } from '../../errors.js';
import { hasRole } from '../../roles.js';
import { type SlackFile, downloadSlackFile, isCsvFile, slackFileInfo } from './slack-file.js';

type MessageArgs = SlackEventMiddlewareArgs<'message'> & AllMiddlewareArgs;

/**
 * A message that shares files (`message` event, `subtype: file_share`; Slack sends it to apps
 * subscribed to message.channels / message.groups / message.im in conversations they are in). It
 * carries the message ts the reply threads on, which the bare `file_shared` event lacks.
 */
const fileShareMessage = z.object({
  type: z.literal('message'),
  subtype: z.literal('file_share'),
  channel: z.string().min(1),
  channel_type: z.string().optional(),
  user: z.string().min(1),
  ts: z.string().min(1),
  thread_ts: z.string().optional(),
  files: z.array(z.object({ id: z.string().min(1) })).min(1),
});

export function renderGlImport(result: GlImportResult): GlMessage {
  switch (result.status) {
    case 'imported':
      return glImportedBlocks(result.summary);
    case 'already_imported':
      return glAlreadyImportedBlocks(result.fileName, result.previous);
    case 'rejected':
      return glRejectedBlocks(result);
  }
}

/**
 * A CSV shared in the ops channel or sent to the bot directly is imported, and the result goes to the
 * file's thread. Bolt has already acknowledged the event (HTTPReceiver, processBeforeResponse false),
 * so the download and import run after Slack got its answer. Thin: parse → where → authorize →
 * service → blocks.
 */
export function glFileSharedListener(ctx: SlackContext) {
  return async ({ event, client, context }: MessageArgs): Promise<void> => {
    const parsed = fileShareMessage.safeParse(event);
    if (!parsed.success) return;
    const e = parsed.data;
    const inOps = ctx.config.file.slack.channels.ops !== undefined && e.channel === ctx.config.file.slack.channels.ops;
    const direct = e.channel_type === 'im';
    if (!inOps && !direct) return;
    const threadTs = e.thread_ts ?? e.ts;
    const reply = async (m: GlMessage) => {
      await client.chat.postMessage({ channel: e.channel, thread_ts: threadTs, text: m.text, blocks: m.blocks, unfurl_links: false });
    };

    for (const shared of e.files) {
      let file: SlackFile | null = null;
      try {
        file = await slackFileInfo(client, shared.id);
        if (!isCsvFile(file)) {
          // In the ops channel people share screenshots and PDFs too; only a DM is addressed to billops.
          if (direct) await reply(glNotCsvBlocks(file.name));
          continue;
        }
        if (!(await hasRole(client, ctx.config.file.roles, 'importer', e.user))) {
          await reply(glNotAllowedBlocks(e.user, file.name));
          continue;
        }
        const token = context.botToken ?? client.token;
        if (!token) throw new Error('no bot token to download the file with');
        const input = await downloadSlackFile(file, token, client.slackApiUrl);
        const result = await importGlExport(
          { db: ctx.db, ledger: ctx.config.file.ledger, clock: ctx.clock, logger: ctx.logger },
          {
            input,
            fileName: file.name,
            actor: { kind: 'slack_user', id: e.user },
            via: 'slack',
            context: { team: context.teamId, channel: e.channel, message_ts: e.ts, file_id: file.id },
          },
        );
        await reply(renderGlImport(result));
      } catch (err) {
        const name = file?.name ?? shared.id;
        const message = isUserError(err)
          ? glFailedBlocks(name, err.message)
          : describeFailure(err, ctx.logger, { listener: 'gl_file_shared', file: shared.id, channel: e.channel, user: e.user });
        try {
          await reply(message);
        } catch (replyErr) {
          ctx.logger.error({ err: replyErr, file: shared.id, channel: e.channel }, 'could not post the GL import reply');
        }
      }
    }
  };
}
