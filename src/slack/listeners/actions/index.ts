import type { App } from '@slack/bolt';
import type { SlackContext } from '../../context.js';
import { registerAccountActions } from './account.js';
import { registerApprovalActions } from './approvals.js';
import { registerExceptionActions } from './exceptions.js';

/** Block actions (buttons, selects). One file per surface registers its own action ids. */
export function register(app: App, ctx: SlackContext): void {
  registerExceptionActions(app, ctx);
  registerAccountActions(app, ctx);
  registerApprovalActions(app, ctx);
}
