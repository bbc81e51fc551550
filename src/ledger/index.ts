// GL import — public face: parsing of QuickBooks / Xero / NetSuite / generic exports, and the
// all-or-nothing import of a file into gl_imports / gl_entries.
export {
  type GlSourceSystem,
  type GlFormat,
  type GlEntryFields,
  type GlEntryDraft,
  type GlParseError,
  type ParsedRow,
  type DetectedGlFormat,
  GL_FORMATS,
  GlImportError,
} from './types.js';
export {
  type ParseGlOptions,
  type OpenedGlExport,
  type OpenedGlExportBatches,
  parseGlExport,
  openGlExport,
  openGlExportBatches,
  detectGlFormat,
} from './parse.js';
export { HEADER_SCAN_LINES } from './detect.js';
export {
  ledgerConfigSchema,
  genericMappingSchema,
  type LedgerConfig,
  type LedgerConfigInput,
  type GenericMapping,
} from './config-schema.js';
export {
  DEFAULT_STRIPE_ID_PATTERNS,
  DEFAULT_INVOICE_NUMBER_PATTERNS,
  ReferenceExtractor,
  type ReferencePatterns,
  type ExtractedReferences,
} from './references.js';
export {
  type GlImportRequest,
  type GlImportProgress,
  type GlImportDeps,
  type GlImportResult,
  type GlImportSummary,
  type GlCurrencyTotals,
  type GlImportTimings,
  MAX_LISTED_PROBLEMS,
  MAX_RECORDED_ACCOUNTS,
  importGlExport,
  findImportBySha256,
} from './import-service.js';
export type { GlImportVia, GlImportsTable, GlEntriesTable, LedgerTables } from './tables.js';
export {
  formatLabel,
  detectedLabel,
  dateRange,
  accountList,
  totalsLines,
  describeImportResult,
  rejectionHeadline,
  rejectionLines,
} from './describe.js';
export { type DemoGlExport, demoGlExport } from './demo-export.js';
