import type { Readable } from 'node:stream';
import { normalizeCurrency } from '../money/index.js';
import { compileLedgerConfig } from './compiled-config.js';
import type { LedgerConfig } from './config-schema.js';
import { CsvSyntaxError, readCsvRecords, sniffDelimiter } from './csv.js';
import { HEADER_SCAN_LINES, HeaderDetector, candidateFormats } from './detect.js';
import { EntryFactory } from './entry.js';
import type { RowParser } from './rows.js';
import { type DetectedGlFormat, type GlFormat, GlImportError, type ParsedRow } from './types.js';

export interface ParseGlOptions {
  /** `--format`: skip detection and read the file as this layout. */
  format?: GlFormat | undefined;
  /** `--mapping`: the `ledger.generic.mappings` entry to use (implies the generic format). */
  mapping?: string | undefined;
  /** The parsed `ledger:` section of billops.yml; defaults when omitted. */
  config?: LedgerConfig | undefined;
  /** Currency of rows without a currency column, overriding config (e.g. `--currency JPY`). */
  currency?: string | undefined;
}

/** An export whose header has been found; `rows` continues from the line after it. */
export interface OpenedGlExport {
  detected: DetectedGlFormat;
  rows: AsyncGenerator<ParsedRow, void, undefined>;
}

/** Like `OpenedGlExport`, with the rows handed out in batches (one per chunk of input). */
export interface OpenedGlExportBatches {
  detected: DetectedGlFormat;
  /** Each batch is a fresh array the caller may keep. */
  batches: AsyncGenerator<ParsedRow[], void, undefined>;
}

/** Bytes read up front to sniff the delimiter. */
const SNIFF_BYTES = 64 * 1024;

/**
 * Reads an export up to its header row and decides the format. Whole-file problems — unknown or
 * ambiguous format, a mapping that does not fit, a CSV that breaks before the header — throw a
 * `GlImportError` here, before any row is produced.
 */
export async function openGlExport(input: Readable, opts: ParseGlOptions = {}): Promise<OpenedGlExport> {
  const { detected, batches } = await openGlExportBatches(input, opts);
  return { detected, rows: flatten(batches) };
}

/**
 * `openGlExport` for bulk loaders: rows come in batches, so a million-row file costs a few thousand
 * awaits rather than a million.
 */
export async function openGlExportBatches(input: Readable, opts: ParseGlOptions = {}): Promise<OpenedGlExportBatches> {
  const run = readExport(input, opts, true);
  const first = await run.next();
  if (first.done || Array.isArray(first.value)) throw new Error('GL export reader did not announce the format');
  return { detected: first.value, batches: run as AsyncGenerator<ParsedRow[], void, undefined> };
}

/**
 * Every entry draft and row problem of a GL export, streamed: constant memory whatever the file size
 * (NetSuite holds one transaction's rows; line keys cost 12 bytes a row). Problems are yielded, not
 * thrown, so a caller can list them all; whole-file problems throw a `GlImportError` before the first
 * row.
 */
export function parseGlExport(input: Readable, opts: ParseGlOptions = {}): AsyncGenerator<ParsedRow, void, undefined> {
  return flatten(readExport(input, opts, false) as AsyncGenerator<ParsedRow[], void, undefined>);
}

/** Only the format: reads up to the header, then stops reading (and destroys) the input. */
export async function detectGlFormat(input: Readable, opts: ParseGlOptions = {}): Promise<DetectedGlFormat> {
  const { detected, batches } = await openGlExportBatches(input, opts);
  await batches.return(undefined);
  input.destroy();
  return detected;
}

async function* flatten(batches: AsyncGenerator<ParsedRow[], void, undefined>): AsyncGenerator<ParsedRow, void, undefined> {
  try {
    for await (const batch of batches) yield* batch;
  } finally {
    await batches.return(undefined);
  }
}

/** One generator from bytes to batches of drafts: every extra async layer costs a promise per chunk. */
async function* readExport(input: Readable, opts: ParseGlOptions, announce: boolean): AsyncGenerator<DetectedGlFormat | ParsedRow[], void, undefined> {
  const config = compileLedgerConfig(opts.config);
  const { handlers, explicit } = candidateFormats(opts, config);
  const { head, source } = await peek(input, SNIFF_BYTES);
  const fixed = new Set(handlers.map((h) => h.delimiter));
  const delimiter = fixed.size === 1 && !fixed.has(undefined) ? ([...fixed][0] as string) : sniffDelimiter(head);
  const detector = new HeaderDetector(
    handlers.filter((h) => h.delimiter === undefined || h.delimiter === delimiter),
    explicit,
  );
  const records = readCsvRecords(source, delimiter);
  let parser: RowParser | null = null;
  let out: ParsedRow[] = [];
  try {
    for await (const batch of records) {
      for (const { fields, line } of batch) {
        if (parser !== null) {
          parser.row(fields, line, out);
          continue;
        }
        if (line > HEADER_SCAN_LINES) throw detector.failure();
        const found = detector.test(fields, line);
        if (!found) continue;
        const defaultCurrency = opts.currency ? normalizeCurrency(opts.currency) : config.defaultCurrency;
        parser = found.handler.createRowParser(found.header, {
          config,
          defaultCurrency,
          currencyOverride: opts.currency ? defaultCurrency : null,
          entries: new EntryFactory(found.handler.format, config.references),
        });
        if (announce) {
          yield { format: found.handler.format, mapping: found.handler.mapping, headerLine: line, columns: [...found.header.raw], delimiter };
        }
      }
      if (out.length > 0) {
        yield out;
        out = [];
      }
    }
  } catch (err) {
    if (!(err instanceof CsvSyntaxError)) throw err;
    if (parser === null) throw new GlImportError(err.message, { cause: err });
    parser.end(out);
    out.push({ kind: 'error', line: err.line, column: null, message: err.message });
    yield out;
    return;
  }
  if (parser === null) throw detector.failure();
  parser.end(out);
  if (out.length > 0) yield out;
}

async function peek(input: Readable, bytes: number): Promise<{ head: string; source: AsyncIterable<Buffer | string> }> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const chunks: Array<Buffer | string> = [];
  let size = 0;
  let done = false;
  while (size < bytes) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    chunks.push(r.value);
    size += r.value.length;
  }
  async function* source(): AsyncGenerator<Buffer | string> {
    try {
      yield* chunks;
      chunks.length = 0;
      if (done) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      await it.return?.();
    }
  }
  return { head: decodeHead(chunks), source: source() };
}

function decodeHead(chunks: ReadonlyArray<Buffer | string>): string {
  if (chunks.every((c) => typeof c === 'string')) return chunks.join('');
  const buf = Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
  return buf[0] === 0xff && buf[1] === 0xfe ? buf.toString('utf16le') : buf.toString('utf8');
}
