import type { GlFormatHandler } from './format.js';
import { textOrNull } from './entry.js';
import {
  BALANCE_LABEL,
  CellReader,
  DATE_LIKE,
  type HeaderCells,
  INVALID,
  type RowParser,
  type RowParserContext,
  cell,
  findColumn,
  firstNonEmpty,
  hasColumn,
  isHeaderRepeat,
  nonEmptyCount,
  rowError,
} from './rows.js';
import type { ParsedRow } from './types.js';

/**
 * Xero "Account Transactions" / "General Ledger Detail" exports: report name, organisation and
 * "For the period 1 September 2026 to 30 September 2026" lines, a blank line, the header (Date, Source,
 * Description, Reference, Debit, Credit, Running Balance, Gross, Tax …), then per account a heading row
 * ("Stripe Clearing (610)"), an "Opening Balance" row, its lines, "Total <account>" and "Closing
 * Balance". Dates read `02 Sep 2026`.
 */

const COLUMNS = {
  date: ['date'],
  source: ['source', 'source type', 'type'],
  contact: ['contact', 'contact name'],
  description: ['description', 'details'],
  reference: ['reference', 'ref'],
  debit: ['debit', 'debit (source)'],
  credit: ['credit', 'credit (source)'],
  account: ['account', 'account name'],
  accountCode: ['account code', 'code'],
  currency: ['currency', 'currency code'],
} as const;

const TOTAL = /^total\b/i;
const TOTAL_PREFIX = /^total\s*/i;

export const xeroFormat: GlFormatHandler = {
  format: 'xero',
  mapping: null,
  label: 'Xero',
  signature: 'Date, Source, Description, Reference, Debit, Credit, Running Balance',
  isHeader(h) {
    return (
      hasColumn(h, COLUMNS.date) &&
      hasColumn(h, ['source', 'source type']) &&
      hasColumn(h, COLUMNS.debit) &&
      hasColumn(h, COLUMNS.credit) &&
      hasColumn(h, ['description', 'reference', 'running balance'])
    );
  },
  accepts(h) {
    return (
      hasColumn(h, COLUMNS.date) &&
      hasColumn(h, COLUMNS.debit) &&
      hasColumn(h, COLUMNS.credit) &&
      hasColumn(h, [...COLUMNS.source, ...COLUMNS.description, ...COLUMNS.reference])
    );
  },
  createRowParser(h, ctx) {
    return new XeroRows(h, ctx);
  },
};

class XeroRows implements RowParser {
  private readonly c: { [K in keyof typeof COLUMNS]: number };
  private readonly reader: CellReader;
  /** The account heading above the current lines. */
  private heading = '';

  constructor(
    private readonly header: HeaderCells,
    private readonly ctx: RowParserContext,
  ) {
    this.c = {
      date: findColumn(header, COLUMNS.date),
      source: findColumn(header, COLUMNS.source),
      contact: findColumn(header, COLUMNS.contact),
      description: findColumn(header, COLUMNS.description),
      reference: findColumn(header, COLUMNS.reference),
      debit: findColumn(header, COLUMNS.debit),
      credit: findColumn(header, COLUMNS.credit),
      account: findColumn(header, COLUMNS.account),
      accountCode: findColumn(header, COLUMNS.accountCode),
      currency: findColumn(header, COLUMNS.currency),
    };
    this.reader = new CellReader(header.raw, ctx.config, ctx.config.decimalSeparator);
  }

  row(fields: readonly string[], line: number, out: ParsedRow[]): void {
    const dateAt = this.c.date;
    const dateRaw = cell(fields, dateAt);
    if (dateRaw !== '') {
      const date = this.ctx.config.dates.xero.parse(dateRaw);
      if (date !== null) {
        this.entry(fields, line, date, out);
        return;
      }
    }
    const lead = firstNonEmpty(fields);
    if (lead < 0) return;
    const label = cell(fields, lead);
    const leading = lead <= dateAt;
    const single = nonEmptyCount(fields, 2) === 1;
    if (leading || dateRaw === '') {
      if (BALANCE_LABEL.test(label)) return;
      if (TOTAL.test(label)) {
        // "Total Stripe Clearing (610)" carries the account's debit and credit totals. A lone
        // "Total …" cell is a total only if it names the current heading; otherwise it is an account
        // whose name starts with "Total".
        if (!single) return;
        const rest = label.replace(TOTAL_PREFIX, '');
        if (rest === '' || rest.toLowerCase() === this.heading.toLowerCase()) return;
      }
    }
    if (isHeaderRepeat(fields, this.header)) return;
    if (leading && single && !DATE_LIKE.test(label)) {
      this.heading = label;
      return;
    }
    if (dateRaw !== '') {
      this.entry(fields, line, null, out);
      return;
    }
    for (const i of [this.c.debit, this.c.credit]) {
      const raw = cell(fields, i);
      if (raw === '') continue;
      out.push(
        rowError(
          line,
          this.reader.columnName(dateAt),
          `empty, but the row has an amount ("${raw}" in "${this.reader.columnName(i)}") ` +
            `and is not an account heading, total or balance row (expected a date like ${this.ctx.config.dates.xero.expected})`,
        ),
      );
      return;
    }
  }

  end(): void {}

  private entry(fields: readonly string[], line: number, date: string | null, out: ParsedRow[]): void {
    const { c, reader } = this;
    if (date === null) reader.date(fields, c.date, this.ctx.config.dates.xero, line, out);
    const currency = c.currency < 0 ? this.ctx.defaultCurrency : reader.currency(fields, c.currency, this.ctx.defaultCurrency, line, out);
    const amount = reader.debitCredit(fields, c.debit, c.credit, currency === INVALID ? this.ctx.defaultCurrency : currency, line, out);
    if (date === null || currency === INVALID || amount === INVALID || amount === null) return;
    const account = cell(fields, c.account) || cell(fields, c.accountCode) || this.heading;
    if (account === '') {
      out.push(rowError(line, null, 'no account: the row is not under an account heading row and has no Account value'));
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
          memo: textOrNull(fields[c.description]),
          customerName: textOrNull(fields[c.contact]),
          externalId: null,
          transactionType: textOrNull(fields[c.source]),
          accountingPeriod: null,
        },
        line,
      ),
    );
  }
}
