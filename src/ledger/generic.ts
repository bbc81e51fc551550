import type { CompiledMapping } from './compiled-config.js';
import type { GlFormatHandler } from './format.js';
import { textOrNull } from './entry.js';
import {
  BALANCE_LABEL,
  CellReader,
  FOOTER_LABEL,
  type HeaderCells,
  INVALID,
  type RowParser,
  type RowParserContext,
  cell,
  firstNonEmpty,
  isHeaderRepeat,
  normHeader,
  rowError,
} from './rows.js';
import type { ParsedRow } from './types.js';

/**
 * Any other ledger's CSV, read through a named mapping from `ledger.generic.mappings`: columns by
 * header name, the date format, the decimal separator, signed amount or debit/credit, currency column
 * or default. This is the path a million-line file takes, so a row is: a few indexed reads, one date
 * `exec`, one amount parse, one hash.
 */

const TOTAL = /^(?:total|subtotal|sub-total|grand total)\b/i;

type MappedField = 'date' | 'amount' | 'debit' | 'credit' | 'currency' | 'account' | 'reference' | 'memo' | 'customer' | 'external_id' | 'transaction_type';
const MAPPED_FIELDS: readonly MappedField[] = [
  'date', 'amount', 'debit', 'credit', 'currency', 'account', 'reference', 'memo', 'customer', 'external_id', 'transaction_type',
];

function mappedColumns(m: CompiledMapping): string[] {
  const cols: string[] = [];
  for (const f of MAPPED_FIELDS) {
    const col = m.mapping[f];
    if (col !== undefined) cols.push(col);
  }
  return cols;
}

/** Mapped columns the header lacks, as written in the mapping. */
export function missingMappedColumns(m: CompiledMapping, h: HeaderCells): string[] {
  return mappedColumns(m).filter((col) => !h.norm.includes(normHeader(col)));
}

export function genericFormat(m: CompiledMapping): GlFormatHandler {
  const columns = mappedColumns(m);
  return {
    format: 'generic',
    mapping: m.name,
    label: `generic mapping "${m.name}"`,
    signature: columns.join(', '),
    delimiter: m.mapping.delimiter,
    skipLines: m.mapping.skip_rows,
    isHeader: (h) => missingMappedColumns(m, h).length === 0,
    accepts: (h) => missingMappedColumns(m, h).length === 0,
    createRowParser: (h, ctx) => new GenericRows(m, h, ctx),
    missingColumns: (h) => missingMappedColumns(m, h),
    columnCount: columns.length,
  };
}

class GenericRows implements RowParser {
  private readonly c: Record<MappedField, number>;
  private readonly reader: CellReader;
  private readonly currency: string;
  private readonly amountColumns: number[];

  constructor(
    private readonly m: CompiledMapping,
    private readonly header: HeaderCells,
    private readonly ctx: RowParserContext,
  ) {
    const at = (f: MappedField) => {
      const col = m.mapping[f];
      return col === undefined ? -1 : header.norm.indexOf(normHeader(col));
    };
    this.c = {
      date: at('date'),
      amount: at('amount'),
      debit: at('debit'),
      credit: at('credit'),
      currency: at('currency'),
      account: at('account'),
      reference: at('reference'),
      memo: at('memo'),
      customer: at('customer'),
      external_id: at('external_id'),
      transaction_type: at('transaction_type'),
    };
    this.amountColumns = this.c.amount >= 0 ? [this.c.amount] : [this.c.debit, this.c.credit];
    this.reader = new CellReader(header.raw, ctx.config, m.mapping.decimal_separator ?? ctx.config.decimalSeparator);
    this.currency = ctx.currencyOverride ?? m.mapping.default_currency ?? ctx.defaultCurrency;
  }

  row(fields: readonly string[], line: number, out: ParsedRow[]): void {
    const dateRaw = cell(fields, this.c.date);
    if (dateRaw !== '') {
      const date = this.m.dates.parse(dateRaw);
      if (date !== null) {
        this.entry(fields, line, date, out);
        return;
      }
    }
    const lead = firstNonEmpty(fields);
    if (lead < 0) return;
    const label = cell(fields, lead);
    if ((lead <= this.c.date || dateRaw === '') && (TOTAL.test(label) || BALANCE_LABEL.test(label) || FOOTER_LABEL.test(label))) return;
    if (isHeaderRepeat(fields, this.header)) return;
    if (dateRaw !== '') {
      this.entry(fields, line, null, out);
      return;
    }
    for (const i of this.amountColumns) {
      const raw = cell(fields, i);
      if (raw === '') continue;
      out.push(
        rowError(
          line,
          this.reader.columnName(this.c.date),
          `empty, but the row has an amount ("${raw}" in "${this.reader.columnName(i)}") ` +
            `and is not a total or balance row (expected a date like ${this.m.dates.expected})`,
        ),
      );
      return;
    }
  }

  end(): void {}

  private entry(fields: readonly string[], line: number, date: string | null, out: ParsedRow[]): void {
    const { c, reader } = this;
    if (date === null) reader.date(fields, c.date, this.m.dates, line, out);
    const currency = c.currency < 0 ? this.currency : reader.currency(fields, c.currency, this.currency, line, out);
    const cur = currency === INVALID ? this.currency : currency;
    let amount =
      c.amount >= 0 ? reader.amount(fields, c.amount, cur, line, out) : reader.debitCredit(fields, c.debit, c.credit, cur, line, out);
    if (date === null || currency === INVALID || amount === INVALID || amount === null) return;
    if (this.m.mapping.invert_sign) amount = -amount;
    const account = cell(fields, c.account) || (this.m.mapping.default_account ?? '');
    if (account === '') {
      out.push(rowError(line, reader.columnName(c.account), 'empty (expected the GL account of the row)'));
      return;
    }
    out.push(
      this.ctx.entries.build(
        {
          date,
          account,
          amountMinor: amount,
          currency,
          reference: textOrNull(fields[c.reference]),
          memo: textOrNull(fields[c.memo]),
          customerName: textOrNull(fields[c.customer]),
          externalId: textOrNull(fields[c.external_id]),
          transactionType: textOrNull(fields[c.transaction_type]),
          accountingPeriod: null,
        },
        line,
      ),
    );
  }
}
