import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { App } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SUBCOMMANDS, registerSlack } from '../../src/slack/index.js';
import { silentLogger, systemClock } from '../../src/util/index.js';
import { REPO_ROOT } from '../support/cli.js';
import { testConfig } from '../support/config.js';

/**
 * slack-manifest.yml is what people paste into api.slack.com to create the app. It must list every
 * command, event and scope the code relies on, and nothing it does not: a missing event means a
 * listener that never fires, a missing scope a `missing_scope` error in production.
 */

interface Manifest {
  features: {
    app_home: { home_tab_enabled: boolean; messages_tab_enabled: boolean };
    slash_commands: Array<{ command: string; url: string; usage_hint: string }>;
  };
  oauth_config: { scopes: { bot: string[] } };
  settings: { event_subscriptions: { request_url: string; bot_events: string[] }; interactivity: { is_enabled: boolean; request_url: string } };
}

const manifest = parse(readFileSync(path.join(REPO_ROOT, 'slack-manifest.yml'), 'utf8')) as Manifest;

/** What registerSlack asks Bolt for, recorded instead of served. */
function registered() {
  const seen = { commands: [] as string[], events: [] as string[], actions: 0, views: 0 };
  const app = {
    command: (name: string) => void seen.commands.push(name),
    event: (name: string) => void seen.events.push(name),
    action: () => void (seen.actions += 1),
    view: () => void (seen.views += 1),
  } as unknown as App;
  const config = testConfig();
  registerSlack(app, { config, db: {} as never, clock: systemClock, logger: silentLogger });
  return seen;
}

/** Events API subscriptions per Bolt event type (a `message` listener needs one per conversation kind). */
const SUBSCRIPTIONS: Record<string, string[]> = {
  message: ['message.channels', 'message.groups', 'message.im'],
  app_home_opened: ['app_home_opened'],
};

/** Bot scope each Web API method billops calls needs (api.slack.com/methods). */
const METHOD_SCOPES: Record<string, string[]> = {
  'chat.postMessage': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'chat.update': ['chat:write'],
  'conversations.open': ['im:write'],
  'conversations.history': ['channels:history', 'groups:history', 'im:history'],
  'files.info': ['files:read'],
  'users.info': ['users:read'],
  'usergroups.users.list': ['usergroups:read'],
  'views.open': [],
  'views.publish': [],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every `client.<family>.<method>(` in src/. */
function calledMethods(): Set<string> {
  const out = new Set<string>();
  for (const f of sourceFiles(path.join(REPO_ROOT, 'src'))) {
    for (const m of readFileSync(f, 'utf8').matchAll(/client\.((?:chat|conversations|files|users|usergroups|views)\.[a-zA-Z.]+)\(/g)) {
      out.add(m[1] ?? '');
    }
  }
  return out;
}

describe('slack-manifest.yml', () => {
  const seen = registered();

  it('lists exactly the slash commands the code registers, and the usage hint names every subcommand', () => {
    expect(manifest.features.slash_commands.map((c) => c.command)).toEqual(seen.commands);
    const hint = manifest.features.slash_commands[0]?.usage_hint ?? '';
    for (const s of ['help', ...SUBCOMMANDS.map((c) => c.name)]) expect(hint, `usage hint lacks ${s}`).toMatch(new RegExp(`(^|\\| )${s}\\b`));
  });

  it('subscribes to exactly the events the code listens to', () => {
    const wanted = [...new Set(seen.events)].flatMap((e) => SUBSCRIPTIONS[e] ?? [`<no subscription known for ${e}>`]);
    expect([...manifest.settings.event_subscriptions.bot_events].sort()).toEqual(wanted.sort());
    expect(manifest.features.app_home.home_tab_enabled).toBe(seen.events.includes('app_home_opened'));
  });

  it('enables interactivity because buttons and modals are registered, on the same URL as events and commands', () => {
    expect(seen.actions).toBeGreaterThan(0);
    expect(seen.views).toBeGreaterThan(0);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    const urls = new Set([manifest.settings.interactivity.request_url, manifest.settings.event_subscriptions.request_url, ...manifest.features.slash_commands.map((c) => c.url)]);
    expect([...urls]).toEqual(['https://billops.example.com/slack/events']);
  });

  it('asks for every scope the Web API calls in src/ need, and no other', () => {
    const methods = calledMethods();
    for (const m of methods) expect(METHOD_SCOPES, `no scope known for ${m}: add it to METHOD_SCOPES`).toHaveProperty([m]);
    const needed = new Set<string>(['commands', ...[...methods].flatMap((m) => METHOD_SCOPES[m] ?? [])]);
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([...needed].sort());
  });
});
