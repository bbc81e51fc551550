import { isUserError, newErrorId, type Logger } from '../util/index.js';
import { problemBlocks } from './blocks/index.js';

/**
 * What a person sees when something fails: a UserError's own message, or a short note with an id
 * that is also in the logs. Never a stack trace.
 */
export function describeFailure(
  err: unknown,
  logger: Logger,
  context: Record<string, unknown>,
  /** What already happened before the failure (e.g. "#42 is resolved."), so the person is not told nothing changed. */
  done?: string,
): ReturnType<typeof problemBlocks> {
  if (isUserError(err)) return problemBlocks(done ? `${done} ${err.message}` : err.message);
  const id = newErrorId();
  logger.error({ err, errorId: id, ...context }, 'slack listener failed');
  if (done) return problemBlocks(`${done} Then something went wrong on our side (error id ${id}); please tell #billing-ops if it happens again.`);
  return problemBlocks(`Something went wrong on our side (error id ${id}). Nothing was changed; please try again or tell #billing-ops.`);
}
