import { normalizeCurrency } from '../money/index.js';
import { type GenericMapping, type LedgerConfig, ledgerConfigSchema } from './config-schema.js';
import { type DateParser, compileDateFormats } from './dates.js';
import { ReferenceExtractor } from './references.js';

/** A generic mapping with its date format compiled. */
export interface CompiledMapping {
  name: string;
  mapping: GenericMapping;
  dates: DateParser;
}

/** `LedgerConfig` with everything a per-row path needs compiled once. */
export interface CompiledLedgerConfig {
  defaultCurrency: string;
  decimalSeparator: '.' | ',';
  /** Lower-cased currency name or code → ISO code. */
  currencyNames: ReadonlyMap<string, string>;
  dates: { quickbooks: DateParser; xero: DateParser; netsuite: DateParser };
  references: ReferenceExtractor;
  quickbooksCreditNormal: readonly RegExp[];
  mappings: ReadonlyMap<string, CompiledMapping>;
}

/**
 * Names NetSuite and others print in a currency column. NetSuite's currency records are named by the
 * account owner; these are the names it ships with.
 */
const BUILT_IN_CURRENCY_NAMES: ReadonlyArray<readonly [string, string]> = [
  ['us dollar', 'USD'],
  ['usa', 'USD'],
  ['u.s. dollar', 'USD'],
  ['euro', 'EUR'],
  ['british pound', 'GBP'],
  ['pound sterling', 'GBP'],
  ['canadian dollar', 'CAD'],
  ['australian dollar', 'AUD'],
  ['japanese yen', 'JPY'],
  ['yen', 'JPY'],
  ['swiss franc', 'CHF'],
];

/** Currency of rows without one when the ledger section is used on its own (billops.yml fills in org.functional_currency). */
const FALLBACK_CURRENCY = 'USD';

const cache = new WeakMap<LedgerConfig, CompiledLedgerConfig>();
let defaults: LedgerConfig | undefined;

/** Compiled once per config object (the app parses billops.yml once). */
export function compileLedgerConfig(config: LedgerConfig = (defaults ??= ledgerConfigSchema.parse({}))): CompiledLedgerConfig {
  const hit = cache.get(config);
  if (hit) return hit;
  const currencyNames = new Map<string, string>(BUILT_IN_CURRENCY_NAMES);
  for (const [name, code] of Object.entries(config.currency_aliases)) currencyNames.set(name.trim().toLowerCase(), normalizeCurrency(code));
  const mappings = new Map<string, CompiledMapping>();
  for (const [name, mapping] of Object.entries(config.generic.mappings)) {
    mappings.set(name, { name, mapping, dates: compileDateFormats([mapping.date_format]) });
  }
  const compiled: CompiledLedgerConfig = {
    defaultCurrency: normalizeCurrency(config.default_currency ?? FALLBACK_CURRENCY),
    decimalSeparator: config.decimal_separator,
    currencyNames,
    dates: {
      quickbooks: compileDateFormats(config.date_formats.quickbooks),
      xero: compileDateFormats(config.date_formats.xero),
      netsuite: compileDateFormats(config.date_formats.netsuite),
    },
    references: new ReferenceExtractor({
      stripeIds: config.reference_patterns.stripe_ids,
      invoiceNumbers: config.reference_patterns.invoice_numbers,
    }),
    quickbooksCreditNormal: config.quickbooks.credit_normal_accounts.map((p) => new RegExp(p)),
    mappings,
  };
  cache.set(config, compiled);
  return compiled;
}
