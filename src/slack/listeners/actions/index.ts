import type { App } from '@slack/bolt';
import type { SlackContext } from '../../context.js';

/** Block actions (buttons, selects). One file per surface registers its own action ids. */
export function register(app: App, ctx: SlackContext): void {
  void app;
  void ctx;
}
