import type { KnownBlock } from '@slack/types';
import type { Drift, ExceptionDigest, ExceptionFlow, ExceptionView, HighValueItem, HighValueList, ThresholdBreach } from '../../exceptions/index.js';
import { type Money, formatMoney } from '../../money/index.js';
import { age, cut, esc, plural, when, who } from './format.js';
import { exceptionActionButtons } from './ids.js';

/**
 * The daily exception digest (a channel message with the detail in its thread) and the high-value
 * straggler DM. Pure: plain data in, Block Kit out. However many exceptions there are, every message
 * stays within Slack's limits: the parent summarizes, the thread shows at most `perKind` items of each
 * kind over pages of `itemsPerMessage`, and everything beyond points to `/billing exceptions`.
 */

export interface DigestMessage {
  text: string;
  blocks: KnownBlock[];
}

/** One kind's items for the thread: the first of the `open` list of that kind. */
export interface DigestKindDetail {
  kind: string;
  label: string;
  /** How many of this kind are open (the items may be fewer). */
  total: number;
  items: ExceptionView[];
}

export interface DigestData {
  asOf: Date;
  timezone: string;
  /** The previous digest's `asOf`; null for the first digest (then `flow` covers the last 24 h). */
  since: Date | null;
  counts: ExceptionDigest;
  flow: ExceptionFlow;
  highValue: HighValueList;
  breach: ThresholdBreach;
  drift: Drift;
  detail: DigestKindDetail[];
}

export interface DigestLayout {
  /** The slash command people type (`/billing`). */
  command: string;
  /** High-value items shown (with buttons) in the parent message. Default 5. */
  highValueItems?: number;
  /** Items per thread message. Default 10 (two blocks each). */
  itemsPerMessage?: number;
  /** Thread messages at most; groups beyond are summarized in the last one. Default 20. */
  maxThreadMessages?: number;
}

const SECTION_CHARS = 2900;
const FIELD_CHARS = 1900;
/** Currencies listed for one total before "+N more". */
const CURRENCIES_SHOWN = 3;
export const MAX_ITEMS_PER_MESSAGE = 20;

function n(value: number): string {
  return value.toLocaleString('en-US');
}

function section(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: cut(text, SECTION_CHARS) } };
}

function context(text: string): KnownBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: cut(text, SECTION_CHARS) }] };
}

export function moneyList(amounts: readonly Money[], shown = CURRENCIES_SHOWN): string {
  if (amounts.length === 0) return '—';
  const head = amounts.slice(0, shown).map((m) => formatMoney(m));
  return amounts.length > shown ? `${head.join(' · ')} · +${amounts.length - shown} more ${amounts.length - shown === 1 ? 'currency' : 'currencies'}` : head.join(' · ');
}

function severityTag(severity: string): string {
  return severity === 'critical' ? ':red_circle: critical' : severity === 'high' ? ':large_orange_circle: high' : severity;
}

/** One exception as a line people scan: id, kind, amount, who, how old. */
function itemText(
  e: { id: bigint; kindLabel: string; amount: bigint; currency: string; customerName: string | null; severity: string; assignee: string | null; openedAt: Date; summary: string },
  now: Date,
  extra = '',
): string {
  const parts = [
    `*#${e.id}*`,
    esc(e.kindLabel),
    `*${formatMoney({ amount: e.amount, currency: e.currency })}*${extra}`,
    e.customerName ? esc(cut(e.customerName, 80)) : null,
    `open ${age(e.openedAt, now)}`,
    severityTag(e.severity),
    e.assignee ? `assigned to ${who(e.assignee)}` : 'unassigned',
  ].filter((p): p is string => p !== null);
  return `${parts.join(' · ')}\n_${esc(cut(e.summary, 300))}_`;
}

function itemBlocks(
  e: Parameters<typeof itemText>[0],
  now: Date,
  blockPrefix: string,
  extra = '',
): KnownBlock[] {
  return [
    { type: 'section', block_id: `${blockPrefix}:${e.id}`, text: { type: 'mrkdwn', text: cut(itemText(e, now, extra), SECTION_CHARS) } },
    { type: 'actions', block_id: `${blockPrefix}_actions:${e.id}`, elements: exceptionActionButtons(e.id, { unique: true }) },
  ];
}

function worthNote(i: HighValueItem): string {
  return i.worth && i.worth.currency !== i.currency ? ` (≈ ${formatMoney(i.worth)})` : '';
}

function sinceText(d: DigestData): string {
  return d.since ? `since the last digest (${when(d.since, d.timezone)})` : 'in the last 24 hours';
}

function breachText(b: ThresholdBreach): string {
  const kinds = b.byKind.map((k) => `${esc(k.label)} ${n(k.count)}`).join(' · ');
  return `:rotating_light: *Threshold breach:* ${plural(b.count, 'new unmatched item')} today (${b.day}), over the limit of ${n(b.limit)}.${kinds ? `\n${kinds}` : ''}`;
}

function driftText(d: Drift): string {
  const lines = d.series
    .filter((s) => s.rising)
    .map((s) => {
      const path = s.points.map((p) => formatMoney({ amount: p.balance, currency: s.currency })).join(' → ');
      return `${s.converted ? '' : `${s.currency} (no rate): `}${path}`;
    });
  const first = d.series[0]?.points[0];
  const last = d.series[0]?.points.at(-1);
  const span = first && last ? ` (weeks of ${first.weekStart} to ${last.weekStart})` : '';
  return cut(`:chart_with_upwards_trend: *Drift:* the unmatched balance rose ${d.weeks} weeks in a row${span}.\n${lines.join('\n')}`, SECTION_CHARS);
}

function kindFields(counts: ExceptionDigest): KnownBlock[] {
  if (counts.byKind.length === 0) return [section(':white_check_mark: Nothing is open. Nice.')];
  const fields = counts.byKind.map((k) => ({
    type: 'mrkdwn' as const,
    text: cut(`*${esc(k.label)}*\n${n(k.count)} · ${moneyList(k.amounts)}`, FIELD_CHARS),
  }));
  const blocks: KnownBlock[] = [];
  for (let i = 0; i < fields.length; i += 10) blocks.push({ type: 'section', fields: fields.slice(i, i + 10) });
  return blocks;
}

/** The channel message: headline numbers, callouts, totals by kind, the biggest high-value items. */
export function exceptionDigestMessage(d: DigestData, layout: DigestLayout): DigestMessage {
  const c = d.counts;
  const shown = Math.max(0, Math.min(layout.highValueItems ?? 5, 10));
  const sev = `critical ${n(c.bySeverity.critical)} · high ${n(c.bySeverity.high)} · medium ${n(c.bySeverity.medium)} · low ${n(c.bySeverity.low)}`;
  const flow =
    `*${n(d.flow.opened.count)} new* ${sinceText(d)}${d.flow.opened.count ? ` (${moneyList(d.flow.opened.amounts)})` : ''}` +
    ` · *${n(d.flow.resolved.count)} resolved*${d.flow.resolved.count ? ` (${moneyList(d.flow.resolved.amounts)})` : ''}`;
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: `Exception digest · ${d.breach.day}` } },
    section(`*${plural(c.open, 'exception')} open* — ${sev}\n${flow}`),
  ];
  if (d.breach.breached) blocks.push(section(breachText(d.breach)));
  if (d.drift.drifting) blocks.push(section(driftText(d.drift)));
  blocks.push({ type: 'divider' }, ...kindFields(c), { type: 'divider' });

  const hv = d.highValue;
  const threshold = formatMoney(hv.threshold);
  if (hv.total === 0) {
    blocks.push(section(`*High-value items* (${threshold} or more): none open.`));
  } else {
    blocks.push(
      section(`*High-value items* (${threshold} or more): ${n(hv.total)} open, ${n(hv.stragglers)} of them for more than 24 hours. The biggest:`),
    );
    for (const i of hv.items.slice(0, shown)) blocks.push(...itemBlocks(i, d.asOf, 'digest_hv', worthNote(i)));
    if (hv.total > Math.min(shown, hv.items.length)) {
      blocks.push(context(`${n(hv.total - Math.min(shown, hv.items.length))} more high-value: \`${layout.command} exceptions\` lists every open item, critical and biggest first.`));
    }
  }
  const notes = [`As of ${when(d.asOf, d.timezone)} (${d.timezone}).`];
  if (c.open > 0) notes.push('Items by kind are in the thread.');
  if (hv.uncompared.length > 0) notes.push(`No rate for ${hv.uncompared.join(', ')}: those amounts are not compared with the threshold.`);
  blocks.push(context(notes.join(' ')));

  const callouts = [d.breach.breached ? 'threshold breach' : null, d.drift.drifting ? 'drift' : null].filter(Boolean);
  const text = `Exception digest ${d.breach.day}: ${n(c.open)} open, ${n(d.flow.opened.count)} new, ${n(d.flow.resolved.count)} resolved${
    callouts.length ? ` (${callouts.join(', ')})` : ''
  }`;
  return { text, blocks };
}

/** The thread: items grouped by kind, `itemsPerMessage` a message, pointers to the rest. */
export function exceptionDigestThread(d: DigestData, layout: DigestLayout): DigestMessage[] {
  const per = Math.max(1, Math.min(layout.itemsPerMessage ?? 10, MAX_ITEMS_PER_MESSAGE));
  const maxMessages = Math.max(1, layout.maxThreadMessages ?? 20);
  const pages: DigestMessage[] = [];
  const omitted: DigestKindDetail[] = [];
  for (const g of d.detail) {
    if (g.total === 0) continue;
    const chunks = Math.max(1, Math.ceil(g.items.length / per));
    if (pages.length + chunks > maxMessages) {
      omitted.push(g);
      continue;
    }
    for (let p = 0; p < chunks; p += 1) {
      const items = g.items.slice(p * per, (p + 1) * per);
      const from = p * per + 1;
      const to = p * per + items.length;
      const head =
        p === 0
          ? `*${esc(g.label)}* — ${n(g.total)} open${g.total > g.items.length ? `, the first ${n(g.items.length)} (critical first, biggest first)` : ''}`
          : `*${esc(g.label)}* (continued, ${n(from)}–${n(to)})`;
      const blocks: KnownBlock[] = [section(head)];
      for (const e of items) blocks.push(...itemBlocks(e, d.asOf, 'digest_item'));
      if (p === chunks - 1 && g.total > g.items.length) {
        blocks.push(context(`${n(g.total - g.items.length)} more: \`${layout.command} exceptions ${g.kind}\``));
      }
      pages.push({ text: `${g.label}: ${n(from)}–${n(to)} of ${n(g.total)} open`, blocks });
    }
  }
  if (omitted.length > 0) {
    const lines = omitted.map((g) => `• ${esc(g.label)}: ${n(g.total)} open — \`${layout.command} exceptions ${g.kind}\``);
    const note: DigestMessage = { text: 'More open exceptions', blocks: [section(`*Not shown here*\n${lines.join('\n')}`)] };
    if (pages.length < maxMessages) pages.push(note);
    else {
      const last = pages[pages.length - 1];
      if (last) last.blocks.push(context(cut(lines.join('\n'), SECTION_CHARS)));
    }
  }
  return pages;
}

// ---------------------------------------------------------------------------------------------
// Straggler DMs
// ---------------------------------------------------------------------------------------------

export type StragglerReason = 'assignee' | 'on_call';

/** A DM about one high-value straggler, with the buttons to act on it. */
export function stragglerAlertMessage(item: HighValueItem, o: { reason: StragglerReason; now: Date; timezone: string }): DigestMessage {
  const amount = formatMoney({ amount: item.amount, currency: item.currency });
  const why =
    o.reason === 'assignee'
      ? 'You are getting this because it is assigned to you.'
      : 'You are getting this because you are on call and it has no owner in Slack.';
  return {
    text: `High-value straggler #${item.id}: ${item.kindLabel}, ${amount}, open ${age(item.openedAt, o.now)}`,
    blocks: [
      section(
        `:hourglass_flowing_sand: *High-value straggler*\n${itemText(item, o.now, worthNote(item))}\nOpen since ${when(item.openedAt, o.timezone)} (${o.timezone}).`,
      ),
      { type: 'actions', block_id: `straggler_actions:${item.id}`, elements: exceptionActionButtons(item.id) },
      context(`${why} At most one reminder a day while it stays open.`),
    ],
  };
}

/** When one person has more stragglers than the DMs a run sends them. */
export function stragglerOverflowMessage(count: number, command: string): DigestMessage {
  const text = `…and ${plural(count, 'more high-value straggler')} today.`;
  return {
    text,
    blocks: [section(`${text} \`${command} exceptions mine\` and \`${command} exceptions open\` list them, biggest first.`)],
  };
}
