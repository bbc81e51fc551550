import type { WebClient } from '@slack/web-api';
import type { RoleChecker } from '../approvals/index.js';
import type { BillopsFile } from '../config/index.js';

export type RoleName = keyof BillopsFile['roles'];

/**
 * Whether a Slack user holds a role from billops.yml `roles:` (admins hold every role). Entries are
 * user ids or user-group ids (S…); groups are looked up with usergroups.users.list at the moment of
 * asking, so a change in Slack takes effect without a restart.
 */
export async function hasRole(client: WebClient, roles: BillopsFile['roles'], role: RoleName, userId: string): Promise<boolean> {
  const entries = role === 'admin' ? [...roles.admin] : [...roles[role], ...roles.admin];
  if (entries.includes(userId)) return true;
  for (const id of entries) {
    if (!id.startsWith('S')) continue;
    const res = await client.usergroups.users.list({ usergroup: id });
    if (res.users?.includes(userId)) return true;
  }
  return false;
}

/** The approvals capability's RoleChecker, backed by billops.yml `roles:` and Slack user groups. */
export function slackRoleChecker(client: WebClient, roles: BillopsFile['roles']): RoleChecker {
  return (userId, role) => hasRole(client, roles, role, userId);
}
