// The Slack side of money actions with approvals: posting requests, updating them in place, DMs to
// requesters. `approvalNotifier` is the outbox worker's and the expiry job's `onSettled`.
export {
  announceRequestChange,
  approvalDeps,
  approvalNotifier,
  approvalRenderOptions,
  dmRequester,
  ledgerForCard,
  postApprovalRequest,
  refreshApprovalMessage,
} from './notify.js';
