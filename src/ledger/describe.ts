import { formatMoney } from '../money/index.js';
import type { GlImportResult, GlImportSummary } from './import-service.js';
import type { DetectedGlFormat, GlSourceSystem } from './types.js';

/** Plain-text descriptions of import results, for the CLI and the demo (Slack has its own blocks). */

const SYSTEM_LABEL: Record<GlSourceSystem, string> = {
  quickbooks: 'QuickBooks Online',
  xero: 'Xero',
  netsuite: 'NetSuite',
  generic: 'generic CSV',
};

/** "QuickBooks Online", `generic CSV (mapping "datev")`. */
export function formatLabel(system: GlSourceSystem, mapping: string | null): string {
  return mapping === null ? SYSTEM_LABEL[system] : `${SYSTEM_LABEL[system]} (mapping "${mapping}")`;
}

export function detectedLabel(d: DetectedGlFormat): string {
  return `${formatLabel(d.format, d.mapping)}, header on line ${d.headerLine}`;
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

export function dateRange(s: Pick<GlImportSummary, 'dateFrom' | 'dateTo'>): string {
  if (s.dateFrom === null || s.dateTo === null) return '—';
  return s.dateFrom === s.dateTo ? s.dateFrom : `${s.dateFrom} to ${s.dateTo}`;
}

/** Accounts for a summary line: all of a few, or the first few and how many more. */
export function accountList(s: Pick<GlImportSummary, 'accounts' | 'accountCount'>, max = 8): string {
  const shown = s.accounts.slice(0, max);
  const more = s.accountCount - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${count(more, 'more')}` : shown.join(', ');
}

/** Debit and credit totals of each currency, one line each. */
export function totalsLines(s: Pick<GlImportSummary, 'totals'>): string[] {
  return s.totals.map(
    (t) =>
      `${t.currency}: debits ${formatMoney({ amount: t.debit, currency: t.currency })}, ` +
      `credits ${formatMoney({ amount: t.credit, currency: t.currency })} (${count(t.entries, 'posting')})`,
  );
}

/** The summary a person reads after an import, already-imported notice or refusal. */
export function describeImportResult(r: GlImportResult): string[] {
  switch (r.status) {
    case 'imported': {
      const s = r.summary;
      return [
        `Imported ${s.fileName} (${formatLabel(s.sourceSystem, s.mapping)}) as import #${s.importId}.`,
        `  rows       ${count(s.rows, 'posting')}: ${s.entriesNew.toLocaleString('en-US')} new, ${s.entriesExisting.toLocaleString('en-US')} already there`,
        `  accounts   ${s.accountCount}: ${accountList(s)}`,
        `  dates      ${dateRange(s)}`,
        ...totalsLines(s).map((l) => `  ${l}`),
        `  sha256     ${s.sha256}`,
      ];
    }
    case 'already_imported': {
      const p = r.previous;
      return [
        `${r.fileName} was already imported on ${p.importedAt.toISOString().slice(0, 10)} as import #${p.importId} ` +
          `(${p.fileName}, by ${p.importedBy} via ${p.importedVia}): nothing new.`,
        `  rows       ${count(p.rows, 'posting')}`,
        `  dates      ${dateRange(p)}`,
        ...totalsLines(p).map((l) => `  ${l}`),
      ];
    }
    case 'rejected':
      return [rejectionHeadline(r), ...rejectionLines(r)];
  }
}

type Rejected = Extract<GlImportResult, { status: 'rejected' }>;

export function rejectionHeadline(r: Rejected): string {
  return `${r.fileName} was not imported: ${count(r.problemCount, 'problem')} (${detectedLabel(r.detected)}). Nothing was changed.`;
}

/** The listed problems, then how many more there are. */
export function rejectionLines(r: Rejected): string[] {
  const lines = r.problems.map((p) => p.message);
  const more = r.problemCount - r.problems.length;
  if (more > 0) lines.push(`… and ${count(more, 'more problem')}`);
  return lines;
}
