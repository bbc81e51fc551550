import type { App } from '@slack/bolt';
import type { SlackContext } from '../../context.js';
import { type Subcommand, createBillingRouter } from './billing.js';

export function register(app: App, ctx: SlackContext, subcommands: readonly Subcommand[] = []): void {
  app.command(ctx.config.file.slack.command, createBillingRouter(ctx, subcommands));
}
