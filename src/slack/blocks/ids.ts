import type { Button } from '@slack/types';

/**
 * Every action_id and modal callback_id billops registers, in one place, so a button built by one
 * surface (a digest, a DM alert, the Home tab) is handled by the listener of another.
 */
export const ACTION = {
  /** value: the exception id */
  exceptionAssignMe: 'exception_assign_me',
  /** value: the exception id; opens the resolve modal */
  exceptionResolve: 'exception_resolve',
  /** value: the exception id; opens the snooze modal */
  exceptionSnooze: 'exception_snooze',
  /** value: the exception id; shows the details */
  exceptionDetails: 'exception_details',
  /** value: JSON of the list query and page */
  exceptionPage: 'exception_page',
  /** value: a Stripe customer id; opens the account card */
  accountOpen: 'account_open',
  /** `money_action:<action>`, value: a Stripe customer id; opens that money action's modal (account card) */
  moneyAction: 'money_action',
  /** value: the approval request id; records an approval */
  approvalApprove: 'approval_approve',
  /** value: the approval request id; opens the reject modal (asks for a reason) */
  approvalReject: 'approval_reject',
  /** value: the approval request id; puts a failed request back in the outbox */
  approvalRetry: 'approval_retry',
} as const;

export const VIEW = {
  exceptionResolve: 'exception_resolve_modal',
  exceptionSnooze: 'exception_snooze_modal',
  moneyAction: 'money_action_modal',
  approvalReject: 'approval_reject_modal',
} as const;

/**
 * Slack refuses a message or view in which an action_id appears twice, so a surface that shows
 * several exceptions suffixes each button's id: `exception_resolve:42`. Listeners match both forms
 * with `actionIdPattern`.
 */
export function actionIdFor(base: string, key: string): string {
  return `${base}:${key}`;
}

/** Matches `base` and `base:<anything>`. */
export function actionIdPattern(base: string): RegExp {
  return new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?::.*)?$`);
}

/**
 * The buttons every exception carries wherever it is shown. Pure. `unique: true` when the surface
 * lists more than one exception (see `actionIdFor`).
 */
export function exceptionActionButtons(exceptionId: bigint | string, opts: { details?: boolean; unique?: boolean } = {}): Button[] {
  const value = String(exceptionId);
  const id = (base: string) => (opts.unique ? actionIdFor(base, value) : base);
  const buttons: Button[] = [
    { type: 'button', action_id: id(ACTION.exceptionAssignMe), text: { type: 'plain_text', text: 'Assign to me' }, value },
    { type: 'button', action_id: id(ACTION.exceptionResolve), text: { type: 'plain_text', text: 'Resolve' }, style: 'primary', value },
    { type: 'button', action_id: id(ACTION.exceptionSnooze), text: { type: 'plain_text', text: 'Snooze' }, value },
  ];
  if (opts.details !== false) {
    buttons.push({ type: 'button', action_id: id(ACTION.exceptionDetails), text: { type: 'plain_text', text: 'Details' }, value });
  }
  return buttons;
}
