import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CsvError, parse } from 'csv-parse';

/** One CSV record and the physical line it starts on. */
export interface CsvRecord {
  fields: string[];
  line: number;
}

/** The file stops being CSV here (an unclosed quote, an oversized record); nothing after it is readable. */
export class CsvSyntaxError extends Error {
  override readonly name: string = 'CsvSyntaxError';
  constructor(
    readonly line: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Longest record accepted; an unclosed quote must not pull the rest of a large file into memory. */
export const MAX_RECORD_CHARS = 1_000_000;

const LINE_BREAK = /[\r\n]/;
const LINE_BREAKS = /\r\n|\r|\n/g;

function breaksIn(fields: readonly string[]): number {
  let n = 0;
  for (const f of fields) {
    if (f.length !== 0 && LINE_BREAK.test(f)) n += f.match(LINE_BREAKS)?.length ?? 0;
  }
  return n;
}

function describe(err: CsvError): string {
  switch (err.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted field is opened here and never closed';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'a closing quote is followed by other characters instead of a delimiter or line end';
    case 'CSV_MAX_RECORD_SIZE':
      return `a record is longer than ${MAX_RECORD_CHARS.toLocaleString('en-US')} characters (probably an unclosed quote)`;
    default:
      return err.message;
  }
}

/**
 * Records of a CSV byte stream, in batches, with the physical line each starts on. Blank lines are records too
 * (`['']`), so every physical line belongs to exactly one record and the next record starts one line
 * after the last line break inside this one.
 *
 * The line is counted here rather than taken from csv-parse's `info.lines`: csv-parse 7 counts a CRLF
 * inside a quoted field as two lines, which puts every later line number off by one per such memo —
 * and Excel-saved exports are full of them.
 */
export async function* readCsvRecords(source: AsyncIterable<Buffer | string>, delimiter: string): AsyncGenerator<CsvRecord[]> {
  const parser = parse({
    bom: true,
    delimiter,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: false,
    max_record_size: MAX_RECORD_CHARS,
  });
  // The pipeline's own rejection is the parser's error, seen below.
  pipeline(Readable.from(source, { objectMode: false }), parser).catch(() => undefined);
  // Not `for await (… of parser)`: Node's stream iterator discards records still buffered once the
  // stream errors, and csv-parse reports an unclosed quote only at the end — so a small file would
  // lose the good rows before the bad one.
  let failure: unknown;
  let finished = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  parser.on('readable', notify);
  parser.on('end', () => {
    finished = true;
    notify();
  });
  parser.on('error', (err) => {
    failure = err;
    notify();
  });
  parser.on('close', () => {
    finished = true;
    notify();
  });
  let next = 1;
  try {
    for (;;) {
      // Hand out whatever is parsed as one batch: one await per chunk of input, not per row.
      let batch: CsvRecord[] | null = null;
      for (let fields = parser.read() as string[] | null; fields !== null; fields = parser.read() as string[] | null) {
        const line = next;
        next = line + 1 + breaksIn(fields);
        (batch ??= []).push({ fields, line });
      }
      if (batch !== null) {
        yield batch;
        continue;
      }
      if (failure !== undefined) {
        if (failure instanceof CsvError) {
          throw new CsvSyntaxError(next, `line ${next}: the file is not valid CSV from here on: ${describe(failure)}`, { cause: failure });
        }
        throw failure;
      }
      if (finished) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    parser.destroy();
  }
}

const CANDIDATES = [',', ';', '\t', '|'] as const;

/**
 * The delimiter of a CSV from its first lines: the candidate appearing most often (outside quotes) on
 * any single line. Commas win ties. European exports with decimal commas use ";", and their header
 * row carries far more of those than any amount carries commas.
 */
export function sniffDelimiter(head: string): string {
  const best: Record<string, number> = {};
  let inQuotes = false;
  const counts: Record<string, number> = {};
  let lines = 0;
  const flush = () => {
    for (const c of CANDIDATES) best[c] = Math.max(best[c] ?? 0, counts[c] ?? 0);
    for (const c of CANDIDATES) counts[c] = 0;
    lines++;
  };
  for (let i = 0; i < head.length && lines < 30; i++) {
    const ch = head[i] ?? '';
    if (ch === '"') inQuotes = !inQuotes;
    else if (!inQuotes && (ch === '\n' || ch === '\r')) flush();
    else if (!inQuotes && (CANDIDATES as readonly string[]).includes(ch)) counts[ch] = (counts[ch] ?? 0) + 1;
  }
  flush();
  let pick: string = ',';
  for (const c of CANDIDATES) if ((best[c] ?? 0) > (best[pick] ?? 0)) pick = c;
  return pick;
}
