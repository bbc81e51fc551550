import type { AllMiddlewareArgs, RespondArguments, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { UserError } from '../../../util/index.js';
import type { SlackContext } from '../../context.js';
import { type CommandHelp, helpBlocks, problemBlocks } from '../../blocks/index.js';
import { describeFailure } from '../../errors.js';

type CommandArgs = SlackCommandMiddlewareArgs & AllMiddlewareArgs;

/** What a subcommand gets: its arguments, who asked, and a way to answer. */
export interface SubcommandRequest {
  args: string[];
  rawText: string;
  userId: string;
  teamId: string;
  channelId: string;
  triggerId: string;
  /** Where `respond` posts (valid 30 minutes): a modal opened from the command answers through it. */
  responseUrl: string;
  respond: (msg: RespondArguments) => Promise<unknown>;
  client: CommandArgs['client'];
}

export interface Subcommand extends CommandHelp {
  name: string;
  /**
   * Answer right in the ack (fast, no Slack API call) — for pure lookups that take milliseconds.
   * Otherwise the command is acked first and `run` answers through `respond`.
   */
  immediate?: (req: SubcommandRequest, ctx: SlackContext) => RespondArguments;
  /**
   * What the ack itself says before `run` does the slow work ("Reconciling… I'll post the result
   * here"), or undefined for a bare ack. Pure and fast, like `immediate`; a UserError thrown here (bad
   * arguments, not allowed) is the answer and `run` is skipped.
   */
  acknowledge?: (req: SubcommandRequest, ctx: SlackContext) => RespondArguments | undefined;
  run?: (req: SubcommandRequest, ctx: SlackContext) => Promise<void>;
}

/** Split command text into words, keeping "quoted phrases" together. */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|“([^”]*)”|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

export function createBillingRouter(ctx: SlackContext, extra: readonly Subcommand[] = []) {
  const command = ctx.config.file.slack.command;
  const subcommands = new Map<string, Subcommand>();
  const help: Subcommand = {
    name: 'help',
    usage: 'help',
    summary: 'this list',
    immediate: () => ({ response_type: 'ephemeral', ...helpBlocks(command, [...subcommands.values()]) }),
  };
  for (const s of [help, ...extra]) subcommands.set(s.name, s);

  return async function handleBilling({ command: body, ack, respond, client }: CommandArgs): Promise<void> {
    const words = splitArgs(body.text ?? '');
    const name = (words[0] ?? 'help').toLowerCase();
    const sub = subcommands.get(name);
    const req: SubcommandRequest = {
      args: words.slice(1),
      rawText: body.text ?? '',
      userId: body.user_id,
      teamId: body.team_id,
      channelId: body.channel_id,
      triggerId: body.trigger_id,
      responseUrl: body.response_url,
      respond,
      client,
    };
    if (!sub) {
      const known = [...subcommands.keys()].map((k) => `\`${k}\``).join(', ');
      await ack({
        response_type: 'ephemeral',
        ...problemBlocks(`\`${command} ${name}\` is not a billops command.`, `Try one of ${known}, or \`${command} help\`.`),
      });
      return;
    }
    try {
      if (sub.immediate) {
        await ack(sub.immediate(req, ctx));
        return;
      }
      const first = sub.acknowledge?.(req, ctx);
      await (first ? ack(first) : ack());
    } catch (err) {
      // A usage error found while answering in the ack: say it in the ack.
      await ack({ response_type: 'ephemeral', ...describeFailure(err, ctx.logger, { command: name }) });
      return;
    }
    try {
      await sub.run?.(req, ctx);
    } catch (err) {
      await respond({ response_type: 'ephemeral', replace_original: false, ...describeFailure(err, ctx.logger, { command: name, user: req.userId }) });
    }
  };
}

/** Thrown by a subcommand given the wrong arguments; shows its usage line. */
export class UsageError extends UserError {
  override readonly name: string = 'UsageError';
  constructor(command: string, usage: string, problem: string) {
    super(`${problem}\nUsage: \`${command} ${usage}\``);
  }
}
