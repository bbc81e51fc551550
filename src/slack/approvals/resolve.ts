import { requiredApprovals } from '../../approvals/index.js';
import type { Config } from '../../config/index.js';
import type { ExceptionView } from '../../exceptions/index.js';

/**
 * Whether resolving this exception needs an approver: its amount (either sign) is over the policy's
 * threshold, `approvals.policies.resolve_exception` (by default the same 5,000 USD as
 * `thresholds.high_value`). Then the Resolve modal sends an approval request instead of resolving.
 */
export function resolveNeedsApproval(config: Config, e: Pick<ExceptionView, 'amount' | 'currency'>): boolean {
  const worth = { amount: e.amount < 0n ? -e.amount : e.amount, currency: e.currency };
  return requiredApprovals(config, 'resolve_exception', worth).required > 0;
}
