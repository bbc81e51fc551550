import type { KnownBlock } from '@slack/types';

export interface CommandHelp {
  usage: string;
  summary: string;
}

/** The `/billing help` answer: every subcommand with its usage. Pure. */
export function helpBlocks(command: string, commands: readonly CommandHelp[]): { text: string; blocks: KnownBlock[] } {
  const lines = commands.map((c) => `\`${command} ${c.usage}\` — ${c.summary}`);
  return {
    text: `${command} commands:\n${lines.join('\n')}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: 'billops commands' } },
      { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `Answers are only visible to you. Type \`${command} help\` any time.` }],
      },
    ],
  };
}

/** A short ephemeral problem message: what was wrong and how to say it right. */
export function problemBlocks(message: string, hint?: string): { text: string; blocks: KnownBlock[] } {
  const text = hint ? `${message}\n${hint}` : message;
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `:warning: ${message.slice(0, 2900)}` } },
      ...(hint ? [{ type: 'context' as const, elements: [{ type: 'mrkdwn' as const, text: hint.slice(0, 2900) }] }] : []),
    ],
  };
}
