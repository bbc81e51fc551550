export {
  type Actor,
  type ActorKind,
  type AuditEntry,
  type AuditQuery,
  type AuditRecord,
  systemActor,
  recordAudit,
  recordAuditMany,
  listAudit,
} from './record.js';
