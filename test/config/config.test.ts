import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseBillopsYaml } from '../../src/config/index.js';

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('billops.yml', () => {
  it('gives defaults for an empty file', () => {
    const f = parseBillopsYaml('');
    expect(f.org.timezone).toBe('UTC');
    expect(f.slack.command).toBe('/billing');
    expect(f.schedules.reconcile).toBe('0 6 * * *');
  });

  it('reads a full file', () => {
    const f = parseBillopsYaml(`
org:
  name: Acme Analytics
  timezone: America/New_York
  functional_currency: USD
  fx_rates: { EUR: "1.08" }
slack:
  channels: { ops: C0OPS0001, digest: C0DIGEST1 }
  on_call: U0ONCALL1
roles:
  approver: [U0CTRL001, S0FINANCE]
schedules:
  reconcile: "0 5 * * *"
`);
    expect(f.org.name).toBe('Acme Analytics');
    expect(f.org.fx_rates).toEqual({ EUR: '1.08' });
    expect(f.slack.channels.digest).toBe('C0DIGEST1');
    expect(f.roles.approver).toEqual(['U0CTRL001', 'S0FINANCE']);
  });

  it('refuses a bad file with one message per problem, naming the file and the key', () => {
    const problems = problemsOf(() =>
      parseBillopsYaml(
        `org:
  timezone: Mars/Olympus_Mons
slack:
  chanels: {}
  channels:
    digest: 42
roles:
  approver: [bob]
schedules:
  reconcile: "every morning"
thresholds:
  high_value: 5000
`,
        'billops.yml',
      ),
    );
    expect(problems).toHaveLength(6);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^billops\.yml: org\.timezone: must be an IANA time zone/),
        expect.stringMatching(/^billops\.yml: slack\.chanels: unknown key/),
        expect.stringMatching(/^billops\.yml: slack\.channels\.digest: .*expected string/),
        expect.stringMatching(/^billops\.yml: roles\.approver\.0: must be a Slack user id/),
        expect.stringMatching(/^billops\.yml: schedules\.reconcile: "every morning" is not a cron expression/),
        expect.stringMatching(/^billops\.yml: thresholds\.high_value: .*expected string/),
      ]),
    );
  });

  it('refuses YAML that does not parse, with the position', () => {
    const problems = problemsOf(() => parseBillopsYaml('org: [unclosed\n  name: x\n', 'billops.yml'));
    expect(problems[0]).toMatch(/^billops\.yml: .*line \d+, column \d+/);
  });

  it('refuses a top level that is not a mapping', () => {
    expect(problemsOf(() => parseBillopsYaml('- a\n- b\n'))[0]).toMatch(/top level must be a mapping/);
  });
});

describe('environment', () => {
  it('names every bad variable', () => {
    const problems = problemsOf(() =>
      loadConfig({ PORT: 'eighty', SLACK_BOT_TOKEN: 'xoxp-user-token', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^env: PORT: /),
        expect.stringMatching(/^env: SLACK_BOT_TOKEN: must be a bot token/),
        expect.stringMatching(/^env: DATABASE_URL: /),
        expect.stringMatching(/^env: LOG_LEVEL: /),
      ]),
    );
  });

  it('refuses a BILLOPS_CONFIG that does not exist, and names the key and file in a bad one', () => {
    expect(problemsOf(() => loadConfig({ BILLOPS_CONFIG: '/nonexistent/billops.yml' }))[0]).toMatch(
      /BILLOPS_CONFIG: file .*does not exist/,
    );
    const dir = mkdtempSync(path.join(tmpdir(), 'billops-cfg-'));
    const file = path.join(dir, 'acme.yml');
    writeFileSync(file, 'org:\n  reporting_currency: dollars\n');
    expect(problemsOf(() => loadConfig({ BILLOPS_CONFIG: file }))).toEqual([
      'acme.yml: org.reporting_currency: must be a three-letter currency code',
    ]);
  });

  it('treats empty variables as unset and applies defaults', () => {
    const c = loadConfig({ PORT: '', BILLOPS_CONFIG: undefined, DATABASE_URL: '' });
    expect(c.env.PORT).toBe(3000);
    expect(c.env.DATABASE_URL).toBeUndefined();
    expect(c.env.BILLOPS_DATA_DIR).toBe('./.billops');
  });
});
