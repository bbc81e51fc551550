export { type StripeClientOverrides, createStripeClient } from './client.js';
export { type EventIntakeOptions, type IncomingEvent, EventIntake, insertEvents } from './event-store.js';
export {
  type EventOutcome,
  type EventsOutcome,
  type StripeEventEnvelope,
  HANDLED_EVENT_PREFIXES,
  eventEnvelopeSchema,
  processStripeEvent,
  processStripeEvents,
} from './process-event.js';
export {
  type NormalizeResult,
  type NormalizeStats,
  type ObjectVersion,
  type VersionedObject,
  type WriteOutcome,
  StripeObjectError,
  addStats,
  isNormalizedObject,
  normalizeObjects,
} from './normalize/index.js';
export {
  type ClaimedEvent,
  type ProcessEvents,
  type StripeEventWorkerOptions,
  type WorkerStats,
  StripeEventWorker,
  claimEvents,
  defaultBackoffMs,
} from './queue/worker.js';
export { STRIPE_WEBHOOK_PATH, type WebhookRouteOptions, stripeWebhookRoute } from './webhook-route.js';
export { NORMALIZED_TABLES, type NormalizedObjectType, type NormalizedTable, type StripeTables } from './tables.js';
export { type QueueWorker, type StripeIngest, type StripeIngestDeps, createStripeIngest } from './runtime.js';
export { ThreadedEventWorker } from './queue/thread.js';
export {
  BACKFILL_STEPS,
  type BackfillOptions,
  type BackfillProgress,
  type BackfillResult,
  BackfillInterruptedError,
  recordPayoutMembers,
  runBackfill,
} from './backfill.js';
export { describeStripeData } from './summary.js';
export {
  DEMO_PLANS,
  DEMO_STRIPE_MONTH,
  type DemoCustomer,
  type DemoStripeDataset,
  demoBalanceReportCsv,
  demoCustomers,
  demoId,
  demoStripeDataset,
} from './demo-data.js';
export {
  MAX_LISTED_PROBLEMS,
  type ReportImportOptions,
  type ReportImportResult,
  type ReportTotals,
  ReportImportError,
  importStripeReport,
} from './report-import.js';
