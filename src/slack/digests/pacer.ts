/**
 * Slack allows about one `chat.postMessage` per second per channel (short bursts pass, a steady stream
 * gets 429s). A pacer spaces posts to the same channel; posts to different channels do not wait for
 * each other. It runs on real time, not the injected clock: it is about Slack's rate, not business
 * time. Tests inject `sleep`/`now` (or `noPacing`) so they do not wait.
 *
 * A 429 that still happens (another process posting to the channel) is retried by the WebClient after
 * `Retry-After`.
 */
export interface Pacer {
  /** Resolves when a post to `channel` may go out; reserves that slot. */
  wait(channel: string): Promise<void>;
}

export interface PacerOptions {
  /** Minimum spacing of posts to one channel. Default 1000 ms. */
  intervalMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export const SLACK_CHANNEL_INTERVAL_MS = 1000;

export function createPacer(opts: PacerOptions = {}): Pacer {
  const interval = opts.intervalMs ?? SLACK_CHANNEL_INTERVAL_MS;
  const now = opts.now ?? (() => performance.now());
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const next = new Map<string, number>();
  return {
    async wait(channel) {
      const t = now();
      // the slot is taken synchronously, so concurrent callers queue up one interval apart
      const at = Math.max(t, next.get(channel) ?? t);
      next.set(channel, at + interval);
      if (next.size > 10_000) {
        for (const [k, v] of next) if (v < t) next.delete(k);
      }
      if (at > t) await sleep(at - t);
    },
  };
}

/** For tests and one-off posts. */
export const noPacing: Pacer = { wait: async () => undefined };

/** One per process: the digest and the DM alerts share Slack's per-channel budget. */
export const slackPacer: Pacer = createPacer();
