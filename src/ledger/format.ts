import type { HeaderCells, RowParser, RowParserContext } from './rows.js';
import type { GlFormat } from './types.js';

/** One export layout: how to recognise its header row and how to read the rows after it. */
export interface GlFormatHandler {
  readonly format: GlFormat;
  /** Generic mapping name; null for the built-in formats. */
  readonly mapping: string | null;
  /** For messages: "QuickBooks Online", `generic mapping "datev"`. */
  readonly label: string;
  /** For messages: the columns a header row of this format has. */
  readonly signature: string;
  /** Field delimiter the layout always uses; undefined when it is sniffed from the file. */
  readonly delimiter?: string;
  /** Lines at the top that are never the header (a mapping's `skip_rows`). */
  readonly skipLines?: number;
  /** Strict: the header is distinctive enough to pick this format without being told. */
  isHeader(h: HeaderCells): boolean;
  /** Lenient: with `--format`, the header has what this format needs to read rows. */
  accepts(h: HeaderCells): boolean;
  createRowParser(h: HeaderCells, ctx: RowParserContext): RowParser;
  /** Generic mappings: the mapped columns this header lacks, to point at in an error. */
  missingColumns?(h: HeaderCells): string[];
  /** Generic mappings: how many columns are mapped. */
  readonly columnCount?: number;
}
