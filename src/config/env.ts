import { z } from 'zod';

/** Environment variables billops reads. This module is the only place that touches process.env. */
export const envSchema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  BILLOPS_CONFIG: z.string().min(1).optional(),
  BILLOPS_DATA_DIR: z.string().min(1).default('./.billops'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SLACK_BOT_TOKEN: z.string().regex(/^xoxb-/, 'must be a bot token starting with xoxb-').optional(),
  SLACK_SIGNING_SECRET: z.string().min(1).optional(),
  SLACK_APP_TOKEN: z.string().regex(/^xapp-/, 'must be an app-level token starting with xapp-').optional(),
  /** Points the Slack Web API client elsewhere (a proxy, or a local stand-in in development). */
  SLACK_API_URL: z.url().optional(),
  STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_(test|live)_/, 'must be a Stripe secret or restricted key').optional(),
  STRIPE_WEBHOOK_SECRET: z.string().regex(/^whsec_/, 'must start with whsec_').optional(),
  /** `off` on replicas that serve Slack and webhooks but must not run scheduled jobs. */
  BILLOPS_SCHEDULER: z.enum(['on', 'off'], { message: 'must be "on" or "off"' }).default('on'),
  /** Names this replica in job history; default `<hostname>:<pid>` (the pod name on Kubernetes). */
  BILLOPS_REPLICA_ID: z.string().min(1).max(200).optional(),
});

export type Env = z.infer<typeof envSchema>;

export function readProcessEnv(): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const key of Object.keys(envSchema.shape)) out[key] = process.env[key];
  return out;
}
