import type { KnownBlock } from '@slack/types';
import { collectDigestData, digestMessages } from '../../slack/digests/index.js';
import type { DemoStep } from './context.js';

/** The visible text of a Block Kit message, one line per block, buttons as [labels]. Pure. */
export function blocksAsText(blocks: readonly KnownBlock[]): string[] {
  const lines: string[] = [];
  for (const b of blocks) {
    if (b.type === 'header') lines.push(`# ${b.text.text}`);
    else if (b.type === 'section') {
      if (b.text) lines.push(...b.text.text.split('\n'));
      for (const f of b.fields ?? []) lines.push(...f.text.split('\n'));
    } else if (b.type === 'context') {
      for (const e of b.elements) if ('text' in e) lines.push(`  ${e.text}`);
    } else if (b.type === 'actions') {
      lines.push(`  ${b.elements.map((e) => ('text' in e && e.text ? `[${e.text.text}]` : '')).join(' ')}`);
    } else if (b.type === 'divider') lines.push('  ───');
  }
  return lines;
}

/** What the digest channel would get this morning: the message, and how its thread is laid out. */
export const slackDemoStep: DemoStep = async (ctx) => {
  const data = await collectDigestData({ config: ctx.config, db: ctx.db, clock: ctx.clock }, { since: null });
  const { parent, thread } = digestMessages(ctx, data);
  ctx.say(`Daily exception digest (schedules.exception_digest) as posted to slack.channels.digest:`);
  ctx.say();
  for (const l of blocksAsText(parent.blocks)) ctx.say(`  ${l}`);
  ctx.say();
  ctx.say(
    `…and ${thread.length} message${thread.length === 1 ? '' : 's'} in its thread (items by kind, each with Assign to me / Resolve / Snooze / Details); ` +
      `most blocks in one message: ${Math.max(parent.blocks.length, ...thread.map((m) => m.blocks.length))} of 50.`,
  );
};
