import type { Config } from '../config/index.js';
import type { RoleChecker } from './types.js';

/**
 * A RoleChecker from billops.yml `roles:` user ids alone (admins hold every role); user-group ids
 * (S…) need Slack to expand them, which the Slack side's checker does. For the CLI, the demo and tests.
 */
export function configRoleChecker(config: Config): RoleChecker {
  return async (userId, role) => {
    const roles = config.file.roles;
    return roles.admin.includes(userId) || (role !== 'admin' && roles[role].includes(userId));
  };
}
