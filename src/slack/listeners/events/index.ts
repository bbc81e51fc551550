import type { App } from '@slack/bolt';
import type { SlackContext } from '../../context.js';
import { appHomeOpenedListener } from './app-home.js';
import { glFileSharedListener } from './gl-file-shared.js';

/** Events API listeners (subscriptions in slack-manifest.yml: message.channels, message.groups, message.im). */
export function register(app: App, ctx: SlackContext): void {
  app.event('message', glFileSharedListener(ctx));
  app.event('app_home_opened', appHomeOpenedListener(ctx));
}
