import { randomBytes } from 'node:crypto';

/**
 * An error whose message is written for the person who caused it: safe to show in Slack or on the
 * CLI as it is. Everything that is not a UserError is an internal failure: logged with an id, and
 * the person only sees that id.
 */
export class UserError extends Error {
  override readonly name: string = 'UserError';
  /** Where the problem is, e.g. `amount`, `billops.yml: slack.channels.digest`, `line 12, column Amount`. */
  readonly field: string | undefined;
  constructor(message: string, options?: { field?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.field = options?.field;
  }
}

/** Several user-facing problems found at once (a config file, a CSV): each one names where it is. */
export class ValidationError extends UserError {
  override readonly name: string = 'ValidationError';
  readonly problems: readonly string[];
  constructor(summary: string, problems: readonly string[]) {
    super(problems.length ? `${summary}\n${problems.map((p) => `  - ${p}`).join('\n')}` : summary);
    this.problems = problems;
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}

/** Short, log-searchable id shown to a person instead of an internal error. */
export function newErrorId(): string {
  return `E-${randomBytes(4).toString('hex')}`;
}
