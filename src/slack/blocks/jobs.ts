import type { KnownBlock } from '@slack/types';
import type { JobLastRun, JobStatus, JobsOverview, ReconcileJobSummary, RunningJob } from '../../jobs/index.js';
import { formatMoney } from '../../money/index.js';
import { cut, esc, when, who } from './format.js';

/**
 * `/billing reconcile` and `/billing jobs` answers. Pure: plain data in, Block Kit out, within Slack's
 * limits (≤ 50 blocks a message, section text ≤ 3000 characters).
 */

export interface JobsMessage {
  text: string;
  blocks: KnownBlock[];
}

const SECTION_CHARS = 2900;

function n(value: number): string {
  return value.toLocaleString('en-US');
}

/** `1.2 s`, `850 ms`, `3 min 05 s`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/** `$1,234.50 · €500.00` in currency-code order; `—` for none. */
function amounts(byCurrency: Record<string, string>): string {
  const parts = Object.keys(byCurrency)
    .sort()
    .map((currency) => formatMoney({ amount: BigInt(byCurrency[currency] ?? '0'), currency }));
  return parts.length ? parts.join(' · ') : '—';
}

function section(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: cut(text, SECTION_CHARS) } };
}

function context(text: string): KnownBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: cut(text, SECTION_CHARS) }] };
}

/** The ack: the run has started and the result will come to this conversation. */
export function reconcileStartedBlocks(): JobsMessage {
  const text = "Reconciling… I'll post the result here when it is done.";
  return { text, blocks: [section(`:hourglass_flowing_sand: ${text}`)] };
}

/** Someone without the role asked. */
export function reconcileNotAllowedBlocks(userId: string): JobsMessage {
  const text =
    `Sorry ${who(userId)}, only people with the importer or admin role can start a reconcile, so I did not start one. ` +
    'An admin can add you under `roles.importer` in billops.yml. The daily reconcile still runs on its schedule.';
  return { text, blocks: [section(`:no_entry: ${text}`)] };
}

function trigger(r: { trigger: string; triggeredBy: string }): string {
  switch (r.trigger) {
    case 'slack':
      return `by ${who(r.triggeredBy)} from Slack`;
    case 'cli':
      return `by ${esc(r.triggeredBy)} from the CLI`;
    case 'schedule':
      return 'on schedule';
    default:
      return `by ${esc(r.triggeredBy)}`;
  }
}

/** A run is already in progress (here or on another replica); no second one was queued. */
export function reconcileAlreadyRunningBlocks(running: RunningJob, timezone: string): JobsMessage {
  const text =
    `A reconcile is already running (started ${when(running.startedAt, timezone)} ${trigger(running)}), so I did not start another. ` +
    'Its result is posted where it was asked for; `/billing jobs` shows when it finished.';
  return { text, blocks: [section(`:hourglass: ${text}`)] };
}

/** The run failed: a UserError's own words, otherwise the error id that is in the logs. */
export function reconcileFailedBlocks(f: { errorId: string; message: string; userError: boolean; runId: bigint }): JobsMessage {
  const text = f.userError
    ? `The reconcile stopped: ${f.message}`
    : `The reconcile failed on our side (error id ${f.errorId}). Nothing was changed; please try again or tell #billing-ops.`;
  return { text, blocks: [section(`:x: ${esc(text)}`), context(`Job run #${f.runId} · error id \`${f.errorId}\``)] };
}

/** What the run found, posted to the conversation it was asked in. */
export function reconcileResultBlocks(r: { summary: ReconcileJobSummary; requestedBy: string; durationMs: number; jobRunId: bigint }): JobsMessage {
  const s = r.summary;
  const e = s.exceptions;
  const headline =
    `:white_check_mark: Reconcile finished in ${duration(r.durationMs)} — ${n(s.matches)} new match${s.matches === 1 ? '' : 'es'}, ` +
    `${n(e.opened)} new exception${e.opened === 1 ? '' : 's'}.`;
  const line = (label: string, t: { count: number; amounts: Record<string, string> }) => `• ${label}: *${n(t.count)}* — ${amounts(t.amounts)}`;
  const billing = ['*Billing records (Stripe)*', line('matched this run', s.billing.matched), line('billing only', s.billing.billingOnly)].join('\n');
  const gl = [
    '*GL entries*',
    line('matched this run', s.gl.matched),
    line('expected GL-only', s.gl.expected),
    line('GL only', s.gl.glOnly),
  ].join('\n');
  const exceptions =
    `*Exceptions*\n• new: *${n(e.opened)}*  • reopened: *${n(e.reopened)}*  • auto-resolved: *${n(e.autoResolved)}*\n` +
    `• open now: *${n(e.active)}* — \`/billing exceptions\` lists them`;
  const text =
    `Reconcile finished in ${duration(r.durationMs)}: ${n(s.matches)} new matches; billing only ${n(s.billing.billingOnly.count)}, ` +
    `GL only ${n(s.gl.glOnly.count)}; ${n(e.opened)} new exceptions, ${n(e.active)} open.`;
  return {
    text,
    blocks: [
      section(headline),
      section(billing),
      section(gl),
      section(exceptions),
      context(
        `Asked for by ${who(r.requestedBy)} · reconciliation run #${esc(s.runId)} · job run #${r.jobRunId} · ` +
          `${n(s.refreshed)} billing record${s.refreshed === 1 ? '' : 's'} refreshed from Stripe`,
      ),
    ],
  };
}

const OUTCOME_ICON: Record<JobLastRun['outcome'], string> = {
  running: ':hourglass_flowing_sand: running',
  succeeded: ':white_check_mark: succeeded',
  failed: ':x: failed',
  skipped: ':fast_forward: skipped (still running from before)',
};

function lastRunLine(r: JobLastRun | null, timezone: string): string {
  if (!r) return 'Last run: never';
  const parts = [`Last run: ${when(r.startedAt, timezone)} ${trigger(r)} — ${OUTCOME_ICON[r.outcome]}`];
  if (r.outcome !== 'running' && r.outcome !== 'skipped' && r.durationMs !== null) parts.push(`in ${duration(r.durationMs)}`);
  if (r.outcome === 'failed') {
    if (r.errorId) parts.push(`· error id \`${esc(r.errorId)}\``);
    else if (r.errorMessage) parts.push(`· ${esc(cut(r.errorMessage, 200))}`);
  }
  return parts.join(' ');
}

function scheduleLine(j: JobStatus): string {
  if (j.state === 'unavailable') return `:black_circle: Not scheduled — ${esc(j.unavailableReason ?? 'not available')}`;
  if (j.state === 'off') return ':white_circle: Off — `schedules.' + j.name + ': off` in billops.yml';
  const words = j.scheduleWords ? `${j.scheduleWords.charAt(0).toUpperCase()}${j.scheduleWords.slice(1)} ` : '';
  const next = j.nextFireAt ? ` · next ${when(j.nextFireAt, j.timezone)}` : ' · does not fire again';
  return `:large_green_circle: ${words}(\`${esc(j.schedule)}\`)${next}`;
}

/** `/billing jobs`: every job, its schedule in words and cron, next fire time, last run. */
export function jobsListBlocks(o: JobsOverview): JobsMessage {
  const blocks: KnownBlock[] = [{ type: 'header', text: { type: 'plain_text', text: 'Scheduled jobs' } }];
  const lines: string[] = [];
  for (const j of o.jobs) {
    blocks.push(section([`*${esc(j.title)}* (\`${j.name}\`)`, scheduleLine(j), lastRunLine(j.lastRun, o.timezone)].join('\n')));
    lines.push(`${j.name}: ${j.state}${j.lastRun ? `, last ${j.lastRun.outcome}` : ''}`);
  }
  blocks.push(
    context(
      `Times in ${esc(o.timezone)} (org time zone).` +
        (o.schedulerOnHere ? '' : ' This replica does not run scheduled jobs (BILLOPS_SCHEDULER=off); others do.'),
    ),
  );
  return { text: `Scheduled jobs — ${lines.join('; ')}`, blocks: blocks.slice(0, 50) };
}
