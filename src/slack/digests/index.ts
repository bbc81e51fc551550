// Scheduled Slack posts: the daily exception digest and the high-value straggler DMs. Each is
// `(ctx, client, opts?) => Promise<summary>` with a JSON-safe summary, for the job registry.
export {
  type ExceptionDigestOptions,
  type ExceptionDigestSummary,
  DigestPostError,
  collectDigestData,
  digestMessages,
  postExceptionDigest,
} from './exception-digest.js';
export { type StragglerAlertOptions, type StragglerAlertSummary, sendStragglerAlerts } from './straggler-alerts.js';
export { type Pacer, type PacerOptions, SLACK_CHANNEL_INTERVAL_MS, createPacer, noPacing, slackPacer } from './pacer.js';
