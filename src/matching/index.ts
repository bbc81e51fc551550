export {
  BILLING_KINDS,
  ACCOUNT_CLASS_OF,
  DEFAULT_RULES,
  type BillingKind,
  type MatchRule,
  type MatchingConfig,
  matchingSchema,
  ruleSchema,
  rulesHash,
} from './rules.js';
export { refreshBillingRecords } from './billing-records.js';
export { Engine, type RuleResult, globsToLike } from './engine.js';
export { type ReconcileOptions, type ReconcileSummary, type OutcomeTotals, reconcile, highValueMajor } from './run.js';
export {
  EXPORT_KINDS,
  EXPORT_FORMATS,
  type ExportKind,
  type ExportFormat,
  type ExportOptions,
  type ExportResult,
  type ExportSink,
  writeExport,
  csvCell,
  parseDay,
  checkRange,
} from './export.js';
