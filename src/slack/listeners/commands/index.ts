import type { App } from '@slack/bolt';
import type { SlackContext } from '../../context.js';
import { accountCommand } from './account.js';
import { type Subcommand, createBillingRouter } from './billing.js';
import { exceptionsCommand } from './exceptions.js';
import { jobsCommand } from './jobs.js';
import { MONEY_SUBCOMMANDS } from './money.js';
import { reconcileCommand } from './reconcile.js';

/**
 * Every `/billing` subcommand, in the order `help` lists them. Each lives in its own file in this
 * folder and exports one `Subcommand`.
 */
export const SUBCOMMANDS: readonly Subcommand[] = [accountCommand, ...MONEY_SUBCOMMANDS, exceptionsCommand, reconcileCommand, jobsCommand];

export function register(app: App, ctx: SlackContext, subcommands: readonly Subcommand[] = SUBCOMMANDS): void {
  app.command(ctx.config.file.slack.command, createBillingRouter(ctx, subcommands));
}
