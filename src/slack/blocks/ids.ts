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
} as const;

export const VIEW = {
  exceptionResolve: 'exception_resolve_modal',
  exceptionSnooze: 'exception_snooze_modal',
} as const;

/** The buttons every exception carries wherever it is shown. Pure. */
export function exceptionActionButtons(exceptionId: bigint | string, opts: { details?: boolean } = {}): Button[] {
  const value = String(exceptionId);
  const buttons: Button[] = [
    { type: 'button', action_id: ACTION.exceptionAssignMe, text: { type: 'plain_text', text: 'Assign to me' }, value },
    { type: 'button', action_id: ACTION.exceptionResolve, text: { type: 'plain_text', text: 'Resolve' }, style: 'primary', value },
    { type: 'button', action_id: ACTION.exceptionSnooze, text: { type: 'plain_text', text: 'Snooze' }, value },
  ];
  if (opts.details !== false) {
    buttons.push({ type: 'button', action_id: ACTION.exceptionDetails, text: { type: 'plain_text', text: 'Details' }, value });
  }
  return buttons;
}
