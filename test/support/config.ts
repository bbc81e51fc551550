import { type Config, defaultBillopsFile, parseBillopsYaml, parseEnv } from '../../src/config/index.js';

export const TEST_SIGNING_SECRET = 'test-signing-secret';
export const TEST_BOT_TOKEN = 'xoxb-test';
export const TEST_WEBHOOK_SECRET = 'whsec_test_secret';

/** A Config as the app would load it, from YAML text and env overrides. */
export function testConfig(opts: { yaml?: string; env?: Record<string, string | undefined> } = {}): Config {
  const env = parseEnv({
    SLACK_BOT_TOKEN: TEST_BOT_TOKEN,
    SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
    STRIPE_SECRET_KEY: 'sk_test_fake',
    STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    LOG_LEVEL: 'silent',
    ...opts.env,
  });
  return { env, file: opts.yaml === undefined ? defaultBillopsFile() : parseBillopsYaml(opts.yaml), filePath: null };
}
