import { TextDecoder } from 'node:util';

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

function syntaxError(line: number, what: string): CsvSyntaxError {
  return new CsvSyntaxError(line, `line ${line}: the file is not valid CSV from here on: ${what}`);
}

const QUOTE = 0x22;
const CR = 0x0d;
const LF = 0x0a;

/** Record delimiter, found at the first line break outside quotes and then kept (as csv-parse does). */
const enum Eol {
  Unknown,
  Lf,
  CrLf,
  Cr,
}

/**
 * RFC 4180 records as spreadsheet exports write them, read with the rules of csv-parse's options
 * `{ bom, relax_quotes, relax_column_count, skip_empty_lines: false }`, which this replaced on the
 * hot path (csv-parse builds every field byte by byte through a Buffer; this slices the decoded text,
 * several times faster on a million rows). test/ledger/csv.test.ts holds the two to the same output on
 * generated input.
 *
 * - A field starting with `"` is quoted: `""` inside is one quote, delimiters and line breaks are data.
 * - A `"` anywhere else is an ordinary character, and so is a closing quote not followed by a
 *   delimiter or line break (the field then reads `"…"…`, quotes kept).
 * - The record delimiter is the first line break seen outside quotes (CRLF, LF or CR); a blank line is
 *   a record of one empty field; the line break after the last record is optional.
 */
export class CsvTokenizer {
  /** Text of a record not complete yet. */
  private rest = '';
  /** Physical line the next record starts on. */
  private line = 1;
  private eol = Eol.Unknown;
  private readonly delimiter: number;

  constructor(delimiter: string) {
    if (delimiter.length !== 1) throw new Error(`CSV delimiter must be one character, not "${delimiter}"`);
    this.delimiter = delimiter.charCodeAt(0);
  }

  /** Parses every complete record of the text seen so far into `out`; `final` at the end of input. */
  push(text: string, final: boolean, out: CsvRecord[]): void {
    const s = this.rest.length === 0 ? text : this.rest + text;
    let pos = 0;
    while (pos < s.length) {
      const end = this.record(s, pos, final, out);
      if (end < 0) break;
      pos = end;
    }
    this.rest = pos === 0 ? s : s.slice(pos);
    if (this.rest.length > MAX_RECORD_CHARS) {
      throw syntaxError(
        this.line,
        `a record is longer than ${MAX_RECORD_CHARS.toLocaleString('en-US')} characters (probably an unclosed quote)`,
      );
    }
  }

  /**
   * Length of the record delimiter at `j` (0 when the character there is not one), or -1 when the
   * text ends too early to tell.
   */
  private eolAt(s: string, j: number, final: boolean): number {
    const c = s.charCodeAt(j);
    switch (this.eol) {
      case Eol.Lf:
        return c === LF ? 1 : 0;
      case Eol.Cr:
        return c === CR ? 1 : 0;
      case Eol.CrLf:
        if (c !== CR) return 0;
        if (j + 1 >= s.length) return final ? 0 : -1;
        return s.charCodeAt(j + 1) === LF ? 2 : 0;
      default:
        if (c === LF) {
          this.eol = Eol.Lf;
          return 1;
        }
        if (c !== CR) return 0;
        if (j + 1 >= s.length && !final) return -1;
        if (s.charCodeAt(j + 1) === LF) {
          this.eol = Eol.CrLf;
          return 2;
        }
        this.eol = Eol.Cr;
        return 1;
    }
  }

  /** Reads the record starting at `pos`; returns where the next one starts, or -1 when it is incomplete. */
  private record(s: string, pos: number, final: boolean, out: CsvRecord[]): number {
    const len = s.length;
    const delimiter = this.delimiter;
    const fields: string[] = [];
    /** A field holds CR or LF: count the physical lines the record spans. */
    let multiline = false;
    let i = pos;
    for (;;) {
      // At the start of a field.
      let prefix = '';
      let j = i;
      if (i < len && s.charCodeAt(i) === QUOTE) {
        let value = '';
        let k = i + 1;
        let closed = -1;
        for (;;) {
          const q = s.indexOf('"', k);
          if (q < 0) {
            if (final) throw syntaxError(this.line, 'a quoted field is opened here and never closed');
            return -1;
          }
          if (q + 1 >= len && !final) return -1;
          if (q + 1 < len && s.charCodeAt(q + 1) === QUOTE) {
            value += s.slice(k, q + 1);
            k = q + 2;
            continue;
          }
          value += s.slice(k, q);
          closed = q + 1;
          break;
        }
        if (!multiline && (value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0)) multiline = true;
        if (closed >= len) {
          fields.push(value);
          return this.emit(fields, multiline, len, out);
        }
        const c = s.charCodeAt(closed);
        if (c === delimiter) {
          fields.push(value);
          i = closed + 1;
          continue;
        }
        if (c === CR || c === LF) {
          const n = this.eolAt(s, closed, final);
          if (n < 0) return -1;
          if (n > 0) {
            fields.push(value);
            return this.emit(fields, multiline, closed + n, out);
          }
        }
        // Not a closing quote after all: the quotes are part of an unquoted field.
        prefix = `"${value}"`;
        j = closed;
      }
      // Unquoted (or the rest of a field whose quotes turned out to be data).
      const start = j;
      for (; j < len; j++) {
        const c = s.charCodeAt(j);
        if (c === delimiter) break;
        if (c === CR || c === LF) {
          const n = this.eolAt(s, j, final);
          if (n < 0) return -1;
          if (n > 0) {
            fields.push(prefix + s.slice(start, j));
            return this.emit(fields, multiline, j + n, out);
          }
          multiline = true;
        }
      }
      if (j >= len) {
        if (!final) return -1;
        fields.push(prefix + s.slice(start, j));
        return this.emit(fields, multiline, len, out);
      }
      fields.push(prefix + s.slice(start, j));
      i = j + 1;
    }
  }

  private emit(fields: string[], multiline: boolean, next: number, out: CsvRecord[]): number {
    const line = this.line;
    this.line = line + 1 + (multiline ? breaksIn(fields) : 0);
    out.push({ fields, line });
    return next;
  }
}

/** Bytes to text: UTF-8 (a BOM is dropped), or UTF-16LE when the file starts with its BOM. */
class Decoder {
  private decoder: TextDecoder | null = null;
  private head: Buffer | null = null;
  private first = true;

  decode(chunk: Buffer | string, final: boolean): string {
    if (typeof chunk === 'string') {
      const text = this.first && chunk.charCodeAt(0) === 0xfeff ? chunk.slice(1) : chunk;
      this.first = false;
      return text;
    }
    let bytes = chunk;
    if (this.decoder === null) {
      // The encoding needs the first two bytes, which a tiny first chunk may not have.
      bytes = this.head ? Buffer.concat([this.head, chunk]) : chunk;
      if (bytes.length < 2 && !final) {
        this.head = bytes;
        return '';
      }
      this.head = null;
      this.decoder = new TextDecoder(bytes[0] === 0xff && bytes[1] === 0xfe ? 'utf-16le' : 'utf-8');
    }
    this.first = false;
    return this.decoder.decode(bytes, { stream: !final });
  }
}

/**
 * Records of a CSV byte stream, in batches (one per chunk of input), with the physical line each
 * starts on. Blank lines are records too (`['']`), so every physical line belongs to exactly one
 * record and the next record starts one line after the last line break inside this one.
 *
 * The line is counted here rather than by a CSV library: csv-parse 7 counts a CRLF inside a quoted
 * field as two lines, which puts every later line number off by one per such memo — and Excel-saved
 * exports are full of them.
 */
export async function* readCsvRecords(source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>, delimiter: string): AsyncGenerator<CsvRecord[]> {
  const tokenizer = new CsvTokenizer(delimiter);
  const decoder = new Decoder();
  for await (const chunk of source) {
    const text = decoder.decode(chunk, false);
    if (text.length === 0) continue;
    const batch: CsvRecord[] = [];
    try {
      tokenizer.push(text, false, batch);
    } catch (err) {
      // Records complete before the break are good: hand them out, then the error.
      if (batch.length > 0) yield batch;
      throw err;
    }
    if (batch.length > 0) yield batch;
  }
  const batch: CsvRecord[] = [];
  try {
    tokenizer.push(decoder.decode(Buffer.alloc(0), true), true, batch);
  } catch (err) {
    if (batch.length > 0) yield batch;
    throw err;
  }
  if (batch.length > 0) yield batch;
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
