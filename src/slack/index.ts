import type { App } from '@slack/bolt';
import type { SlackContext } from './context.js';
import * as actions from './listeners/actions/index.js';
import * as commands from './listeners/commands/index.js';
import * as events from './listeners/events/index.js';
import * as views from './listeners/views/index.js';

export type { SlackContext } from './context.js';
export { type Subcommand, type SubcommandRequest, UsageError, splitArgs } from './listeners/commands/billing.js';
export { SUBCOMMANDS } from './listeners/commands/index.js';

/** Wire every listener. Listeners stay thin: parse, authorize, ack, call a service, render. */
export function registerSlack(app: App, ctx: SlackContext): void {
  commands.register(app, ctx);
  actions.register(app, ctx);
  views.register(app, ctx);
  events.register(app, ctx);
}
