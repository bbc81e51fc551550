import type { App } from '@slack/bolt';
import type { SlackContext } from '../../context.js';

/** Modal submissions (view_submission / view_closed). One file per modal registers its callback id. */
export function register(app: App, ctx: SlackContext): void {
  void app;
  void ctx;
}
