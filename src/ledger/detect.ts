import type { CompiledLedgerConfig } from './compiled-config.js';
import type { GlFormatHandler } from './format.js';
import { genericFormat } from './generic.js';
import { netsuiteFormat } from './netsuite.js';
import { quickbooksFormat } from './quickbooks.js';
import { type HeaderCells, firstNonEmpty, headerCells } from './rows.js';
import { type GlFormat, GlImportError } from './types.js';
import { xeroFormat } from './xero.js';

/** The header must start within this many physical lines (titles, date range, blank lines come first). */
export const HEADER_SCAN_LINES = 50;

export const BUILT_IN_FORMATS: readonly GlFormatHandler[] = [quickbooksFormat, xeroFormat, netsuiteFormat];

export interface FormatChoice {
  /** `--format`; omitted → detect. */
  format?: GlFormat | undefined;
  /** `--mapping` for the generic format; implies `format: 'generic'`. */
  mapping?: string | undefined;
}

/** The layouts a file may be, given what the caller said. Throws a GlImportError for an unknown mapping. */
export function candidateFormats(choice: FormatChoice, config: CompiledLedgerConfig): { handlers: GlFormatHandler[]; explicit: boolean } {
  const format = choice.format ?? (choice.mapping !== undefined ? 'generic' : undefined);
  const configured = [...config.mappings.keys()];
  if (choice.mapping !== undefined && format !== 'generic') {
    throw new GlImportError(`A mapping ("${choice.mapping}") only applies to --format generic, not --format ${format}.`, { field: 'mapping' });
  }
  if (format === 'generic') {
    if (configured.length === 0) {
      throw new GlImportError('--format generic needs a column mapping, and billops.yml has none under ledger.generic.mappings.', {
        field: 'format',
      });
    }
    if (choice.mapping !== undefined) {
      const m = config.mappings.get(choice.mapping);
      if (!m) {
        throw new GlImportError(`There is no generic mapping "${choice.mapping}" in billops.yml (configured: ${configured.join(', ')}).`, {
          field: 'mapping',
        });
      }
      return { handlers: [genericFormat(m)], explicit: true };
    }
    return { handlers: [...config.mappings.values()].map(genericFormat), explicit: true };
  }
  if (format !== undefined) {
    const handler = BUILT_IN_FORMATS.find((h) => h.format === format);
    if (!handler) throw new GlImportError(`Unknown format "${String(format)}" (expected quickbooks, xero, netsuite or generic).`, { field: 'format' });
    return { handlers: [handler], explicit: true };
  }
  return { handlers: [...BUILT_IN_FORMATS, ...[...config.mappings.values()].map(genericFormat)], explicit: false };
}

function formatFlag(h: GlFormatHandler): string {
  return h.mapping === null ? `--format ${h.format}` : `--format generic --mapping ${h.mapping}`;
}

function quote(text: string, max = 120): string {
  const t = text.length > max ? `${text.slice(0, max)}…` : text;
  return `"${t}"`;
}

/**
 * Finds the header row among the first records. Auto-detection takes a format only when exactly one
 * recognises the row (strict signatures); with `--format` the named layout's minimal columns suffice.
 */
export class HeaderDetector {
  private firstText: string | null = null;
  private closest: { line: number; missing: string[] } | null = null;

  constructor(
    private readonly handlers: readonly GlFormatHandler[],
    private readonly explicit: boolean,
  ) {}

  test(fields: readonly string[], line: number): { handler: GlFormatHandler; header: HeaderCells } | null {
    const lead = firstNonEmpty(fields);
    if (lead < 0) return null;
    if (this.firstText === null) this.firstText = fields.map((f) => f.trim()).join(',').replace(/,+$/, '');
    const header = headerCells(fields);
    const eligible = this.handlers.filter((h) => line > (h.skipLines ?? 0));
    const matches = eligible.filter((h) => (this.explicit ? h.accepts(header) : h.isHeader(header)));
    if (matches.length === 1) return { handler: matches[0] as GlFormatHandler, header };
    if (matches.length > 1) {
      const shown = header.raw.filter((c) => c !== '').join(', ');
      throw new GlImportError(
        `Cannot tell which export this is: the header on line ${line} (${shown}) fits ${matches.map((h) => h.label).join(' and ')}. ` +
          `Say which it is with ${matches.map(formatFlag).join(' or ')}.`,
        { field: 'format' },
      );
    }
    if (this.explicit) this.noteClosest(header, line, eligible);
    return null;
  }

  /** The error when no header turned up in the first lines. */
  failure(): GlImportError {
    const first = this.firstText === null ? 'The file is empty.' : `Its first line reads ${quote(this.firstText)}.`;
    if (this.explicit) {
      const [h] = this.handlers;
      const what = this.handlers.length === 1 && h ? `${h.label} export` : 'export for any generic mapping';
      const expected = this.handlers.map((x) => `${x.label}: ${x.signature}`).join('; ');
      const closest =
        this.closest && this.closest.missing.length > 0
          ? ` The closest is line ${this.closest.line}, which lacks ${this.closest.missing.map((m) => `"${m}"`).join(', ')}.`
          : '';
      return new GlImportError(
        `This does not look like a ${what}: no header row in the first ${HEADER_SCAN_LINES} lines has the expected columns (${expected}).${closest} ${first}`,
        { field: 'format' },
      );
    }
    const known = this.handlers
      .filter((h) => h.mapping === null)
      .map((h) => `${h.label} (${h.signature})`)
      .join(', ');
    return new GlImportError(
      `Cannot tell which export this is: no header row in the first ${HEADER_SCAN_LINES} lines matches ${known} or a mapping under ledger.generic.mappings. ` +
        `${first} Pass --format, or add a generic mapping for this layout.`,
      { field: 'format' },
    );
  }

  private noteClosest(header: HeaderCells, line: number, eligible: readonly GlFormatHandler[]): void {
    for (const h of eligible) {
      const missing = h.missingColumns?.(header);
      // A row sharing no column with the layout (a title) says nothing about what is missing.
      if (!missing || missing.length === h.columnCount) continue;
      if (this.closest === null || missing.length < this.closest.missing.length) this.closest = { line, missing };
    }
  }
}
