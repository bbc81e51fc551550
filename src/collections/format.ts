import { type Money, formatMoney } from '../money/index.js';
import type { AgingReport } from './aging.js';
import type { CollectionsDigest } from './digest.js';
import type { CollectionsRunSummary, StepOutcome } from './types.js';

/** Plain-text renderings for the CLI and the demo (Slack renders the same data with Block Kit). */

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function amounts(list: Money[]): string {
  return list.length ? list.map((m) => formatMoney(m)).join(' · ') : '—';
}

function pastDue(days: number): string {
  if (days > 0) return `${plural(days, 'day')} overdue`;
  if (days === 0) return 'due today';
  return `due in ${plural(-days, 'day')}`;
}

export function describeAging(a: AgingReport): string[] {
  const lines: string[] = [];
  const filter = [a.filter.bucket ? `bucket ${a.filter.bucket}` : null, a.filter.customerId ? `customer ${a.filter.customerId}` : null].filter(Boolean).join(', ');
  lines.push(`AR aging as of ${a.asOf} (${a.timezone})${filter ? `, ${filter}` : ''}: days past the due day; invoices without a due date from their finalization.`);
  const rep = a.converted ? `in ${a.reportingCurrency}` : '';
  const rows: Array<[string, number, string, string]> = a.buckets.map((b) => [b.bucket, b.count, amounts(b.amounts), b.reporting ? formatMoney(b.reporting.amount) : '']);
  if (!a.filter.bucket) {
    rows.push(['past due', a.overdue.count, amounts(a.overdue.amounts), a.overdue.reporting ? formatMoney(a.overdue.reporting.amount) : '']);
    rows.push(['total', a.total.count, amounts(a.total.amounts), a.total.reporting ? formatMoney(a.total.reporting.amount) : '']);
  }
  const w = Math.max(24, ...rows.map((r) => r[2].length));
  lines.push(`  ${'bucket'.padEnd(9)} ${'invoices'.padStart(8)}   ${'owed, per currency'.padEnd(w)}   ${rep}`.trimEnd());
  for (const [b, n, amt, conv] of rows) lines.push(`  ${b.padEnd(9)} ${String(n).padStart(8)}   ${amt.padEnd(w)}   ${conv}`.trimEnd());
  const missing = a.total.reporting?.missingRates ?? [];
  if (missing.length) lines.push(`  (${a.reportingCurrency} totals leave out ${missing.join(', ')}: no rate in org.fx_rates)`);
  if (a.topOverdue.length) {
    lines.push('Top overdue accounts:');
    for (const t of a.topOverdue) {
      const who = `${t.name ?? '(no name)'} (${t.customerId ?? 'no customer'})`;
      const conv = t.reporting && t.reporting.currency !== t.amount.currency ? ` (${formatMoney(t.reporting)})` : '';
      lines.push(`  ${who.padEnd(44)} ${formatMoney(t.amount).padStart(12)}${conv}   ${plural(t.invoices, 'invoice')}, oldest ${plural(t.oldestDaysPastDue, 'day')} past due`);
    }
  } else if (!a.filter.bucket || a.filter.bucket !== 'current') {
    lines.push('Nothing is past due.');
  }
  if (a.invoices.length) {
    lines.push('Invoices:');
    for (const i of a.invoices) {
      lines.push(
        `  ${(i.number ?? i.invoiceId).padEnd(14)} ${(i.customerName ?? i.customerId ?? '').padEnd(28)} ${formatMoney(i.amountRemaining).padStart(12)}   due ${i.dueOn}, ${pastDue(i.daysPastDue)} (${i.bucket})`,
      );
    }
  }
  return lines;
}

function outcomeLines(o: StepOutcome): string[] {
  const head =
    `  ${(o.invoiceNumber ?? o.invoiceId).padEnd(12)} ${(o.customerName ?? o.customerId ?? '').padEnd(26)} ${o.step.label} (${o.segment}) — ` +
    `${formatMoney(o.amountRemaining)}, ${pastDue(o.daysPastDue)}: ${o.status}`;
  const lines = [head];
  if (o.skipped.length) lines.push(`      earlier steps skipped (caught up): ${o.skipped.join(', ')}`);
  for (const e of o.effects) lines.push(`      ${e.effect}: ${e.done ? '' : 'FAILED: '}${e.detail}`);
  if (o.error && o.status !== 'failed') lines.push(`      ${o.error}`);
  return lines;
}

export function describeRun(s: CollectionsRunSummary): string[] {
  const lines = [
    `Collections run for ${s.day} (${s.timezone}) in ${(s.durationMs / 1000).toFixed(1)} s: ${plural(s.performed, 'step')} performed, ${s.failed} failed` +
      ` (retried on the next run), ${plural(s.skipped, 'earlier step')} skipped (caught up), ${plural(s.closed, 'invoice')} left collections, ` +
      `${plural(s.paused, 'invoice')} on hold (promise to pay or open dispute)${s.pausesLapsed ? `, ${plural(s.pausesLapsed, 'pause')} lapsed` : ''}.`,
  ];
  for (const o of s.outcomes) lines.push(...outcomeLines(o));
  if (s.outcomes.length < s.performed + s.failed) lines.push(`  … and ${s.performed + s.failed - s.outcomes.length} more`);
  return lines;
}

export function describeDigest(d: CollectionsDigest): string[] {
  const lines = [`Dunning digest for ${d.day} (${d.timezone})`];
  if (d.stepsToday.length === 0) lines.push('No invoice entered a dunning step today.');
  else {
    lines.push('Entering a step today:');
    for (const g of d.stepsToday) {
      lines.push(`  ${g.step.label} (${g.segment}) — ${plural(g.count, 'invoice')}, ${amounts(g.amounts)}`);
      for (const i of g.items) {
        lines.push(`    ${(i.number ?? i.invoiceId).padEnd(12)} ${(i.customerName ?? i.customerId ?? '').padEnd(26)} ${formatMoney(i.amountRemaining).padStart(12)}  ${pastDue(i.daysPastDue)}  [${i.status}]`);
      }
      if (g.items.length < g.count) lines.push(`    … and ${g.count - g.items.length} more`);
    }
  }
  if (d.skippedToday) lines.push(`${plural(d.skippedToday, 'earlier step')} skipped today (a later step was already due).`);
  if (d.escalations.length) {
    lines.push('In escalation or formal collections:');
    for (const e of d.escalations) {
      lines.push(
        `  ${(e.number ?? e.invoiceId).padEnd(12)} ${(e.customerName ?? e.customerId ?? '').padEnd(26)} ${formatMoney(e.amountRemaining).padStart(12)}  ${pastDue(e.daysPastDue)}  ${e.step.label} since ${e.since}${e.owner ? `, owner <@${e.owner}>` : ', no owner'}`,
      );
    }
  }
  if (d.paused.length) {
    lines.push('On hold:');
    for (const p of d.paused) {
      const why = p.kind === 'dispute' ? 'open dispute' : `promise to pay until ${p.until} (dunning resumes ${p.resumesOn})`;
      lines.push(`  ${(p.customerName ?? p.customerId).padEnd(28)} ${why} · ${plural(p.invoices, 'open invoice')} ${amounts(p.amounts)}`);
    }
  }
  if (d.failing.length) {
    lines.push('Failing, retried on the next run:');
    for (const f of d.failing) lines.push(`  ${(f.number ?? f.invoiceId).padEnd(12)} ${f.step.label} (attempt ${f.attempts}): ${f.error ?? 'unknown error'}`);
  }
  if (d.leftToday.length) {
    lines.push('Left collections today:');
    for (const l of d.leftToday) lines.push(`  ${(l.number ?? l.invoiceId).padEnd(12)} ${(l.customerName ?? '').padEnd(26)} ${l.status ?? ''}`);
  }
  lines.push(...describeAging(d.aging));
  return lines;
}
