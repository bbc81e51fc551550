// GL import — public face. Parsing of QuickBooks / Xero / NetSuite / generic exports lives here;
// the database loader builds on `openGlExport` / `parseGlExport`.
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
export { type ParseGlOptions, type OpenedGlExport, parseGlExport, openGlExport, detectGlFormat } from './parse.js';
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
