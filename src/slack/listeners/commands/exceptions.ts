import { EXCEPTION_KINDS, KIND_LABELS } from '../../../exceptions/index.js';
import { type ExceptionFilter, type ExceptionListQuery, exceptionListMessage } from '../../blocks/index.js';
import type { SlackContext } from '../../context.js';
import { isListFilter, loadList, renderClock } from '../exception-surfaces.js';
import { type Subcommand, UsageError } from './billing.js';

const USAGE = 'exceptions [open|mine|<kind>] [page]';

/** What a list holds, in words: `open exceptions assigned to you`. */
function listNoun(filter: ExceptionFilter): string {
  if (filter === 'open') return 'open exceptions';
  if (filter === 'mine') return 'open exceptions assigned to you';
  return `open "${KIND_LABELS[filter]}" exceptions`;
}

/** `missing-in-gl`, `Missing_In_GL` → `missing_in_gl`. */
function normalize(word: string): string {
  return word.toLowerCase().replace(/-/g, '_');
}

function pageNumber(command: string, word: string): number {
  if (!/^\d{1,7}$/.test(word)) throw new UsageError(command, USAGE, `"${word}" is not a page number: pages are 1, 2, 3 …`);
  const page = Number(word);
  if (page < 1) throw new UsageError(command, USAGE, `There is no page ${word}: pages start at 1.`);
  return page;
}

/** The list and page asked for, or a UsageError naming the word that is wrong and what would be right. */
export function parseExceptionsArgs(command: string, args: readonly string[]): ExceptionListQuery {
  if (args.length > 2) {
    throw new UsageError(command, USAGE, `Too many words: "${args.slice(2).join(' ')}". Give a list (open, mine or a kind) and a page number.`);
  }
  const [first, second] = args;
  if (first === undefined) return { filter: 'open', page: 1 };
  if (/^\d+$/.test(first) && second === undefined) return { filter: 'open', page: pageNumber(command, first) };
  const word = normalize(first);
  if (!isListFilter(word)) {
    throw new UsageError(command, USAGE, `"${first}" is not a list. Use open, mine, or one of the kinds: ${EXCEPTION_KINDS.join(', ')}.`);
  }
  const filter: ExceptionFilter = word;
  return { filter, page: second === undefined ? 1 : pageNumber(command, second) };
}

/** `/billing exceptions [open|mine|<kind>] [page]`: the queue, a page at a time, with a button for each action. */
export const exceptionsCommand: Subcommand = {
  name: 'exceptions',
  usage: USAGE,
  summary: 'the exception queue: what is open, yours, or one kind; assign, resolve, snooze from the list',
  async run(req, ctx: SlackContext) {
    const command = ctx.config.file.slack.command;
    const query = parseExceptionsArgs(command, req.args);
    const result = await loadList(ctx, query, req.userId, false);
    if (query.page > result.pages) {
      const what = listNoun(query.filter);
      throw new UsageError(
        command,
        USAGE,
        result.total === 0
          ? `There is no page ${query.page}: there are no ${what}, so there is only page 1.`
          : `There is no page ${query.page}: the last page of ${what} is ${result.pages}.`,
      );
    }
    const msg = exceptionListMessage({ query, result, clock: renderClock(ctx), command });
    await req.respond({ response_type: 'ephemeral', ...msg });
  },
};
