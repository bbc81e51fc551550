import {
  type ApprovalDeps,
  type ApprovalRequestView,
  configRoleChecker,
  createRequest,
  creditLedger,
  decide,
  localApprovalStripe,
  runOutbox,
} from '../../approvals/index.js';
import { parseBillopsYaml } from '../../config/index.js';
import { formatMoney } from '../../money/index.js';
import { demoCustomers } from '../../stripe/index.js';
import type { DemoStep } from './context.js';

/** The demo's people: billops.yml `roles:` would list real Slack user ids. */
const REQUESTER = { userId: 'U0DEMOREQ1', userName: 'riley (billing ops)', teamId: 'T0DEMO', channelId: 'C0DEMOOPS' };
const APPROVER = { userId: 'U0DEMOAPR1', userName: 'casey (controller)', teamId: 'T0DEMO', channelId: 'C0DEMOAPR' };

function status(r: ApprovalRequestView): string {
  const approvals = r.approvals.length ? ` · approved by ${r.approvals.map((a) => a.userId).join(', ')}` : '';
  return `[${r.status}] #${r.id} ${r.title} · needs ${r.requiredApprovals} approval${r.requiredApprovals === 1 ? '' : 's'}${approvals}`;
}

/**
 * One credit request through the approval flow: requested, a self-approval refused, approved by an
 * approver, executed by the outbox executor. The demo has no Stripe account, so the executor's Stripe
 * side changes billops' own copy of the Stripe data instead, and says so.
 */
export const approvalsDemoStep: DemoStep = async (ctx) => {
  const config = {
    ...ctx.config,
    file: {
      ...ctx.config.file,
      roles: parseBillopsYaml(`roles:\n  requester: [${REQUESTER.userId}]\n  approver: [${APPROVER.userId}]\n`).roles,
    },
  };
  const deps: ApprovalDeps = { db: ctx.db.db, config, clock: ctx.clock, logger: ctx.logger, roles: configRoleChecker(config) };
  const customer = demoCustomers().find((c) => c.currency === 'usd' && c.story === 'renews');
  if (!customer) throw new Error('the demo data has no USD customer to credit');
  ctx.say(`Roles for the demo (billops.yml roles:): requester ${REQUESTER.userId} (${REQUESTER.userName}), approver ${APPROVER.userId} (${APPROVER.userName}).`);
  const bands = config.file.approvals.policies.credit.map((b) => (b.up_to ? `up to ${b.up_to}: ${b.approvers}` : `above: ${b.approvers}`)).join(' · ');
  ctx.say(`Credit policy (approvals.policies.credit, approvers needed): ${bands}.`);

  const req = await createRequest(deps, {
    params: { action: 'credit', customerId: customer.id, amount: 25_000n, currency: 'USD', reasonCode: 'goodwill', note: 'Two days of degraded exports in October' },
    requester: REQUESTER,
  });
  ctx.say();
  ctx.say(`${REQUESTER.userId} requests: ${status(req)}`);
  ctx.say(`  (the Slack side posts this to slack.channels.approvals with Approve / Reject; it expires ${req.expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC)`);

  const self = await decide(deps, { requestId: req.id, decision: 'approve', actor: REQUESTER });
  ctx.say(`${REQUESTER.userId} clicks Approve on their own request → ${self.outcome}: ${self.message}`);
  const approved = await decide(deps, { requestId: req.id, decision: 'approve', actor: APPROVER });
  ctx.say(`${APPROVER.userId} clicks Approve → ${approved.outcome}: ${approved.message}`);
  const again = await decide(deps, { requestId: req.id, decision: 'approve', actor: APPROVER });
  ctx.say(`${APPROVER.userId} clicks again → ${again.outcome}: ${again.message}`);

  const stripe = localApprovalStripe(ctx.db.db, ctx.clock);
  const settled: ApprovalRequestView[] = [];
  const run = await runOutbox({ ...deps, stripe, onSettled: async (r) => void settled.push(r) });
  const done = settled.at(-1);
  ctx.say();
  ctx.say(`Outbox executor: ${run.executed} executed, ${run.retried} to retry, ${run.failed} failed.`);
  if (done) {
    ctx.say(`  ${status(done)} · Stripe object ${done.execution.stripeObjectId} · idempotency key approval:${done.id}:credit`);
  }
  ctx.say('  NOT SENT TO STRIPE: the demo has no Stripe account, so the credit was applied to billops\' local copy of the Stripe data');
  ctx.say('  (the customer\'s balance); with STRIPE_SECRET_KEY set, billops serve makes this call to Stripe.');

  const ledger = await creditLedger(ctx.db.db, customer.id, { config });
  ctx.say();
  ctx.say(`Credit ledger of ${customer.name} (${customer.id}):`);
  for (const e of ledger.entries) {
    const what = e.kind === 'opening' ? 'opening balance (Stripe, before the first credit)' : e.kind === 'credit' ? `credit · ${e.reasonLabel} · requested by ${e.requestedBy}, approved by ${e.approvedBy.join(', ')} · ${e.stripeId}` : `used by invoice ${e.stripeId}`;
    ctx.say(`  ${e.at.toISOString().slice(0, 10)}  ${formatMoney({ amount: e.amount, currency: e.currency }).padStart(10)}  balance ${formatMoney({ amount: e.balanceAfter, currency: e.currency }).padStart(10)}  ${what}`);
  }
  const stripeHeld = ledger.stripeBalance ? formatMoney({ amount: -ledger.stripeBalance.amount, currency: ledger.stripeBalance.currency }) : 'unknown';
  ctx.say(`  Stripe's customer balance: ${stripeHeld} of credit — ${ledger.mismatch ? 'DISAGREES with the ledger (a credit_balance_mismatch exception is open)' : 'agrees with the ledger'}.`);
};
