import type { App } from '@slack/bolt';
import type { SlackContext } from './context.js';
import * as commands from './listeners/commands/index.js';
import * as events from './listeners/events/index.js';

export type { SlackContext } from './context.js';
export { type Subcommand, type SubcommandRequest, UsageError, splitArgs } from './listeners/commands/billing.js';

/** Wire every listener. Listeners stay thin: parse, authorize, ack, call a service, render. */
export function registerSlack(app: App, ctx: SlackContext): void {
  commands.register(app, ctx);
  events.register(app, ctx);
}
