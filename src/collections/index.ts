// Collections and dunning — public face.
//
// Policy: `collections:` in billops.yml (config-schema.ts), compiled by `compilePolicy` into segments
// and steps relative to each invoice's due date (in org.timezone).
//
// Engine: `runCollections(deps)` is the `collections` job: for every open invoice it finds the latest
// step that is due, claims (invoice, step) with INSERT … ON CONFLICT DO NOTHING before any side effect
// (so replicas and reruns perform each step once), marks earlier unperformed steps `skipped` (catch-up:
// one message, never three at once), performs the side effects — Stripe `sendInvoice` with the
// idempotency key `collections:<invoice>:<step>` for send_invoice invoices, Stripe's retry state
// recorded for charged-automatically ones, Slack through a `CollectionsNotifier` — and records and
// audits each outcome. A failed side effect is retried on the next run (effects already done are not
// repeated). `planCollections` is the same decision without side effects.
//
// Pauses: `pauseCollections` / `clearCollectionsPause` (promise to pay until a day), `listPauses`
// (promise to pay + open disputes, for the account card). Paused accounts get no steps; when the
// pause lapses dunning resumes at the latest due step.
//
// Reads for Slack surfaces (the Slack side renders them): `agingReport` (AR aging buckets, totals per
// currency and in the reporting currency, top overdue accounts), `failedPayments` (invoices with
// failed attempts and their retry history), `collectionsDigest` (steps entering today, aging, top
// overdue, escalations, pauses, failures), `invoiceDunning` (one invoice's steps so far).
// Plain-text renderings for the CLI and the demo: `describeAging`, `describeDigest`, `describeRun`.
//
// Webhook exit: `closeLeftInvoices` is called by Stripe event processing (src/stripe/process-event.ts)
// for invoices that became paid / void / uncollectible / fully credited: their failed or stuck steps
// are closed and the exit audited at once; the engine also checks each invoice right before acting.
export {
  STEP_EFFECTS,
  STEP_STATUSES,
  CollectionsInputError,
  type StepKind,
  type StepEffect,
  type StepStatus,
  type PauseKind,
  type CollectionsDeps,
  type CollectionsRunDeps,
  type CollectionsNotice,
  type CollectionsNotifier,
  type CollectionsStripe,
  type CollectionsStripeSource,
  type CustomerReminder,
  type SentMessage,
  type PolicySegment,
  type PolicyStep,
  type StepOutcome,
  type CollectionsRunSummary,
  type CollectionsPause,
} from './types.js';
export {
  STEP_KINDS,
  DEFAULT_SEGMENTS,
  collectionsConfigSchema,
  type CollectionsConfig,
  type CollectionsSegmentConfig,
  type CollectionsStepConfig,
  type CollectionsSegmentMatch,
} from './config-schema.js';
export { type CompiledPolicy, compilePolicy, stepLabel } from './policy.js';
export { type PlannedStep, type CollectionsPlan, planCollections, runCollections, invoiceDunning, type InvoiceDunning, type InvoiceStepRecord } from './engine.js';
export { closeLeftInvoices } from './exit.js';
export {
  MAX_PAUSE_NOTE_LENGTH,
  type PauseInput,
  type ClearPauseInput,
  type PauseActor,
  pauseCollections,
  clearCollectionsPause,
  listPauses,
  parsePauseUntil,
} from './pauses.js';
export {
  AGING_BUCKETS,
  type AgingBucket,
  type AgingQuery,
  type AgingReport,
  type AgingBucketTotals,
  type AgingInvoice,
  type OverdueAccount,
  type ReportingTotal,
  agingReport,
  isAgingBucket,
} from './aging.js';
export { type FailedPaymentsQuery, type FailedPaymentInvoice, type PaymentAttempt, failedPayments } from './failed-payments.js';
export { type CollectionsDigest, type DigestStepGroup, type DigestStepItem, type DigestEscalation, type DigestPausedAccount, collectionsDigest } from './digest.js';
export { noticeText, plainTextNotifier } from './notifier.js';
export { localCollectionsStripe, stripeCollectionsClient, asCollectionsStripe } from './stripe-actions.js';
export { describeAging, describeDigest, describeRun } from './format.js';
export type { CollectionsTables } from './tables.js';
