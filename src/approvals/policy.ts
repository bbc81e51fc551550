import type { Config } from '../config/index.js';
import { type Money, convertMinor, formatMoney, parseUserAmount } from '../money/index.js';
import type { ApprovalAction } from './types.js';

/**
 * How many approvals a request needs: the first band of `approvals.policies.<action>` whose `up_to`
 * the amount fits under (inclusive), else the last band. Amounts in another currency than the band's
 * are compared in the reporting currency through `org.fx_rates`; when a rate is missing the amount
 * cannot be compared, so the last band (the strictest by convention) applies and the request says why.
 */
export interface PolicyDecision {
  required: 0 | 1 | 2;
  /** Why, in words, when it is not obvious (a missing FX rate). */
  note: string | null;
}

function toReporting(config: Config, m: Money): bigint | null {
  const org = config.file.org;
  if (m.currency === org.reporting_currency) return m.amount;
  const rate = org.fx_rates[m.currency];
  return rate === undefined ? null : convertMinor(m.amount, m.currency, org.reporting_currency, rate);
}

export function requiredApprovals(config: Config, action: ApprovalAction, amount: Money | null): PolicyDecision {
  const bands = config.file.approvals.policies[action];
  const last = bands[bands.length - 1];
  if (!last) throw new Error(`approvals.policies.${action} has no bands`);
  if (amount === null) return { required: last.approvers, note: null };
  const abs = { amount: amount.amount < 0n ? -amount.amount : amount.amount, currency: amount.currency };
  for (const band of bands) {
    if (band.up_to === undefined) return { required: band.approvers, note: null };
    const limit = parseUserAmount(band.up_to, { allowZero: true });
    let fits: boolean;
    if (limit.currency === abs.currency) {
      fits = abs.amount <= limit.amount;
    } else {
      const a = toReporting(config, abs);
      const l = toReporting(config, limit);
      if (a === null || l === null) {
        const missing = a === null ? abs.currency : limit.currency;
        return {
          required: last.approvers,
          note: `No rate for ${missing} in org.fx_rates, so ${formatMoney(abs)} cannot be compared with ${formatMoney(limit)}: the strictest band applies.`,
        };
      }
      fits = a <= l;
    }
    if (fits) return { required: band.approvers, note: null };
  }
  return { required: last.approvers, note: null };
}
