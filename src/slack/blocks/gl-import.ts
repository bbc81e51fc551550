import type { KnownBlock } from '@slack/types';
import type { GlImportResult, GlImportSummary } from '../../ledger/index.js';
import { accountList, dateRange, detectedLabel, formatLabel, totalsLines } from '../../ledger/index.js';

/**
 * Thread replies to a GL file shared in Slack. Pure: plain data in, Block Kit out, within Slack's
 * limits (≤ 50 blocks a message, section text ≤ 3000 characters).
 */

export interface GlMessage {
  text: string;
  blocks: KnownBlock[];
}

/** Section text stays under Slack's 3000 characters with room for markup. */
const SECTION_CHARS = 2900;
/** One problem line is cut here: a quoted 10,000-character cell must not push the others out. */
const PROBLEM_CHARS = 400;
/** Sections of problems in one reply (with the headline and footer, far under 50 blocks). */
const MAX_PROBLEM_SECTIONS = 8;

/** Slack mrkdwn treats &, < and > as markup. */
function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function n(value: number): string {
  return value.toLocaleString('en-US');
}

function plural(value: number, one: string, many = `${one}s`): string {
  return `${n(value)} ${value === 1 ? one : many}`;
}

function summaryFields(s: GlImportSummary): KnownBlock {
  return {
    type: 'section',
    fields: [
      { type: 'mrkdwn', text: `*Rows*\n${plural(s.rows, 'posting')}` },
      { type: 'mrkdwn', text: `*New / already there*\n${n(s.entriesNew)} / ${n(s.entriesExisting)}` },
      { type: 'mrkdwn', text: `*Dates*\n${dateRange(s)}` },
      { type: 'mrkdwn', text: `*Format*\n${esc(formatLabel(s.sourceSystem, s.mapping))}` },
    ],
  };
}

function totalsSection(s: GlImportSummary): KnownBlock {
  const lines = totalsLines(s).map((l) => `• ${esc(l)}`);
  return { type: 'section', text: { type: 'mrkdwn', text: cut(`*Totals*\n${lines.join('\n')}`, SECTION_CHARS) } };
}

function accountsSection(s: GlImportSummary): KnownBlock {
  return {
    type: 'section',
    text: { type: 'mrkdwn', text: cut(`*Accounts (${n(s.accountCount)})*\n${esc(accountList(s, 12))}`, SECTION_CHARS) },
  };
}

/** The file went in: rows, new and existing postings, dates, totals per currency. */
export function glImportedBlocks(s: GlImportSummary): GlMessage {
  const headline =
    s.entriesNew === s.rows
      ? `:white_check_mark: Imported *${esc(s.fileName)}*: ${plural(s.rows, 'posting')}.`
      : `:white_check_mark: Imported *${esc(s.fileName)}*: ${plural(s.rows, 'posting')}, ${n(s.entriesNew)} new — ${n(s.entriesExisting)} were already there from an earlier export.`;
  const text =
    `Imported ${s.fileName}: ${plural(s.rows, 'posting')} (${n(s.entriesNew)} new, ${n(s.entriesExisting)} already there), ` +
    `${dateRange(s)}. ${totalsLines(s).join('; ')}`;
  return {
    text: cut(text, 3000),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: cut(headline, SECTION_CHARS) } },
      summaryFields(s),
      totalsSection(s),
      accountsSection(s),
      { type: 'context', elements: [{ type: 'mrkdwn', text: `Import #${s.importId} · sha256 \`${s.sha256.slice(0, 12)}\`` }] },
    ],
  };
}

/** The same bytes were imported before. */
export function glAlreadyImportedBlocks(fileName: string, previous: GlImportSummary): GlMessage {
  const when = previous.importedAt.toISOString().slice(0, 10);
  const who = previous.importedVia === 'slack' ? `<@${previous.importedBy}>` : `${esc(previous.importedBy)} (${previous.importedVia})`;
  const line = `:information_source: *${esc(fileName)}* was already imported on ${when} by ${who} (import #${previous.importId}): nothing new.`;
  return {
    text: `${fileName} was already imported on ${when} (import #${previous.importId}): nothing new.`,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: cut(line, SECTION_CHARS) } }, summaryFields(previous), totalsSection(previous)],
  };
}

type Rejected = Extract<GlImportResult, { status: 'rejected' }>;

/** Problems found: nothing imported. Lists the first problems, in sections within Slack's limits, and counts the rest. */
export function glRejectedBlocks(r: Rejected): GlMessage {
  const headline =
    `:x: *${esc(r.fileName)}* was not imported: ${plural(r.problemCount, 'problem')} ` +
    `(${esc(detectedLabel(r.detected))}). Nothing was changed — fix the file and share it again.`;
  const sections: string[] = [];
  let current = '';
  let listed = 0;
  for (const p of r.problems) {
    const line = `• ${esc(cut(p.message, PROBLEM_CHARS))}`;
    if (current.length + line.length + 1 > SECTION_CHARS) {
      if (sections.length + 1 >= MAX_PROBLEM_SECTIONS) break;
      sections.push(current);
      current = '';
    }
    current = current ? `${current}\n${line}` : line;
    listed++;
  }
  if (current) sections.push(current);
  const more = r.problemCount - listed;
  const blocks: KnownBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: cut(headline, SECTION_CHARS) } },
    ...sections.map((t): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text: t } })),
  ];
  if (more > 0) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `… and ${plural(more, 'more problem')} not listed here.` }] });
  }
  const first = r.problems
    .slice(0, 3)
    .map((p) => cut(p.message, PROBLEM_CHARS))
    .join('; ');
  return { text: cut(`${r.fileName} was not imported: ${plural(r.problemCount, 'problem')}. ${first}`, 3000), blocks };
}

/** Someone without the importer role shared a file. */
export function glNotAllowedBlocks(userId: string, fileName: string): GlMessage {
  const text =
    `Sorry <@${userId}>, only people with the importer role can import GL files, so I left *${esc(fileName)}* alone — nothing was imported. ` +
    'An admin can add you under `roles.importer` in billops.yml.';
  return { text: `Sorry, only people with the importer role can import GL files; ${fileName} was not imported.`, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

/** A file that is not a CSV sent to the bot directly. */
export function glNotCsvBlocks(fileName: string): GlMessage {
  const text = `I import general-ledger exports saved as CSV; *${esc(fileName)}* is not a CSV file. Export the report as CSV and share that.`;
  return { text: `${fileName} is not a CSV file; nothing was imported.`, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

/** Whole-file problems (unknown format, download refused …), already worded for people. */
export function glFailedBlocks(fileName: string, message: string): GlMessage {
  const text = `:x: *${esc(fileName)}* was not imported. ${esc(cut(message, 2500))}`;
  return { text: cut(`${fileName} was not imported. ${message}`, 3000), blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}
