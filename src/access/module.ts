/** Access: API tokens, raters and their invitations, signed image links, the audit log. */
import { registerAccessCommands } from '../cli/access';
import { ApiToken } from '../entities/ApiToken';
import { AuditEntry } from '../entities/AuditEntry';
import { Rater } from '../entities/Rater';
import { Access1764400000001 } from '../entities/migrations/1764400000001-Access';
import type { DomainModule } from '../platform/module';
import { AccessResolver, ApiTokenResolver } from '../resolvers/AccessResolver';
import { ACCESS_SETTINGS } from './settings';
import { startTokenCache } from './tokens';

export const accessModule: DomainModule = {
  name: 'access',
  entities: [ApiToken, Rater, AuditEntry],
  migrations: [Access1764400000001],
  resolvers: [AccessResolver, ApiTokenResolver],
  settings: [ACCESS_SETTINGS],
  start: startTokenCache,
  cli: registerAccessCommands,
};
