import type { App } from '@slack/bolt';
import type { SlackContext } from '../../context.js';
import { registerApprovalViews } from './approvals.js';
import { registerExceptionViews } from './exceptions.js';

/** Modal submissions (view_submission / view_closed). One file per modal registers its callback id. */
export function register(app: App, ctx: SlackContext): void {
  registerExceptionViews(app, ctx);
  registerApprovalViews(app, ctx);
}
