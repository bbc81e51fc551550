export const EXCEPTION_KINDS = [
  'missing_in_gl',
  'missing_in_billing',
  'amount_mismatch',
  'void_not_reflected',
  'duplicate_in_gl',
  'fx_variance_over_tolerance',
  'failed_payment',
  'dispute_open',
  'credit_balance_mismatch',
] as const;
export type ExceptionKind = (typeof EXCEPTION_KINDS)[number];

export const EXCEPTION_STATUSES = ['open', 'assigned', 'snoozed', 'resolved', 'auto_resolved', 'reopened'] as const;
export type ExceptionStatus = (typeof EXCEPTION_STATUSES)[number];
/** Statuses in which an exception still needs a person. */
export const ACTIVE_STATUSES: readonly ExceptionStatus[] = ['open', 'assigned', 'snoozed', 'reopened'];

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** How a person says an exception was dealt with. */
export const RESOLUTION_CODES = [
  'posted_in_gl',
  'corrected_in_gl',
  'corrected_in_stripe',
  'timing_difference',
  'expected_difference',
  'duplicate_removed',
  'written_off',
  'not_an_issue',
] as const;
export type ResolutionCode = (typeof RESOLUTION_CODES)[number];

export const KIND_LABELS: Record<ExceptionKind, string> = {
  missing_in_gl: 'Missing in GL',
  missing_in_billing: 'Missing in billing',
  amount_mismatch: 'Amount mismatch',
  void_not_reflected: 'Void not reflected in GL',
  duplicate_in_gl: 'Duplicate in GL',
  fx_variance_over_tolerance: 'FX variance over tolerance',
  failed_payment: 'Failed payment',
  dispute_open: 'Open dispute',
  credit_balance_mismatch: 'Credit balance mismatch',
};
