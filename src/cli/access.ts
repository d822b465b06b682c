/** `medpsim token create|list|revoke` and `medpsim rater create|list|invite`: accounts, through a running server (ADMIN). */
import type { Command } from 'commander';
import { request, serverOf, serverOptions } from './client';

const TOKEN_FIELDS = `id prefix label role origin createdAt expiresAt lastUsedAt revokedAt active`;
const INVITATION_FIELDS = `code url expiresAt rater { id pseudonym displayName specialty yearsOfExperience }`;

interface TokenView {
  id: string;
  prefix: string;
  label: string;
  role: string;
  origin: string;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  active: boolean;
}

interface InvitationView {
  code: string;
  url: string;
  expiresAt: string;
  rater: { id: string; pseudonym: string; displayName: string };
}

function integer(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number)) throw new Error(`not an integer: "${value}"`);
  return number;
}

function tokenLine(token: TokenView): string {
  const state = token.revokedAt ? `revoked ${token.revokedAt}` : token.active ? 'active' : `expired ${token.expiresAt}`;
  const expiry = token.expiresAt && token.active ? `, expires ${token.expiresAt}` : '';
  return `${token.prefix}  ${token.role.padEnd(8)} ${state}${expiry}  ${token.label}  [${token.id}]`;
}

function printInvitation(invitation: InvitationView, json: boolean): void {
  if (json) return console.log(JSON.stringify(invitation, null, 2));
  console.log(`rater ${invitation.rater.pseudonym} (${invitation.rater.displayName}) [${invitation.rater.id}]`);
  console.log(`invitation link (one use, until ${invitation.expiresAt}): ${invitation.url}`);
}

export function registerAccessCommands(program: Command): void {
  const token = program.command('token').description('API tokens (ADMIN): create, list, revoke');

  serverOptions(token.command('create'))
    .description('make a token; it is printed once and cannot be shown again')
    .requiredOption('-l, --label <label>', 'what it is for')
    .requiredOption('-r, --role <role>', 'ADMIN, PIPELINE or ANALYST')
    .option('--expires-in-days <days>', 'days until it expires (default: never)', integer)
    .option('--json', 'print JSON')
    .action(async (options) => {
      const { createToken } = await request<{ createToken: { secret: string; token: TokenView } }>(
        serverOf(options),
        `mutation ($input: CreateTokenInput!) { createToken(input: $input) { secret token { ${TOKEN_FIELDS} } } }`,
        { input: { label: options.label, role: String(options.role).toUpperCase(), expiresInDays: options.expiresInDays ?? null } },
      );
      if (options.json) return console.log(JSON.stringify(createToken, null, 2));
      console.log(createToken.secret);
      console.error(`${tokenLine(createToken.token)}\nkeep it now: the server stores only its hash`);
    });

  serverOptions(token.command('list'))
    .description('list tokens (active ones; --all for revoked and expired too)')
    .option('--all', 'include revoked and expired tokens')
    .option('--json', 'print JSON')
    .action(async (options) => {
      const { tokens } = await request<{ tokens: TokenView[] }>(
        serverOf(options),
        `query ($all: Boolean!) { tokens(includeInactive: $all) { ${TOKEN_FIELDS} } }`,
        { all: options.all === true },
      );
      if (options.json) return console.log(JSON.stringify(tokens, null, 2));
      for (const entry of tokens) console.log(tokenLine(entry));
    });

  serverOptions(token.command('revoke'))
    .description('revoke a token by id or prefix (mpsim_xxxxxxxx): its next request fails')
    .argument('<id-or-prefix>')
    .action(async (id: string, options) => {
      const { revokeToken } = await request<{ revokeToken: TokenView }>(serverOf(options), `mutation ($id: String!) { revokeToken(id: $id) { ${TOKEN_FIELDS} } }`, { id });
      console.log(tokenLine(revokeToken));
    });

  const rater = program.command('rater').description('raters (ADMIN): create, list, invite again');

  serverOptions(rater.command('create'))
    .description('add a rater and print their one-time invitation link')
    .requiredOption('-n, --name <name>', 'display name or pseudonym (only ADMIN sees it)')
    .option('--specialty <specialty>', 'e.g. radiology')
    .option('--years <years>', 'years of experience', integer)
    .option('--expires-in-hours <hours>', 'how long the invitation is valid (default 72)', integer)
    .option('--json', 'print JSON')
    .action(async (options) => {
      const { createRater } = await request<{ createRater: InvitationView }>(
        serverOf(options),
        `mutation ($input: CreateRaterInput!, $hours: Int) { createRater(input: $input, expiresInHours: $hours) { ${INVITATION_FIELDS} } }`,
        { input: { displayName: options.name, specialty: options.specialty ?? null, yearsOfExperience: options.years ?? null }, hours: options.expiresInHours ?? null },
      );
      printInvitation(createRater, options.json === true);
    });

  serverOptions(rater.command('invite'))
    .description("a new invitation for a rater; their unused ones stop working")
    .argument('<rater-id>')
    .option('--expires-in-hours <hours>', 'how long the invitation is valid (default 72)', integer)
    .option('--json', 'print JSON')
    .action(async (raterId: string, options) => {
      const { inviteRater } = await request<{ inviteRater: InvitationView }>(
        serverOf(options),
        `mutation ($id: ID!, $hours: Int) { inviteRater(raterId: $id, expiresInHours: $hours) { ${INVITATION_FIELDS} } }`,
        { id: raterId, hours: options.expiresInHours ?? null },
      );
      printInvitation(inviteRater, options.json === true);
    });

  serverOptions(rater.command('list'))
    .description('list raters')
    .option('--json', 'print JSON')
    .action(async (options) => {
      const { raters } = await request<{ raters: Array<{ id: string; pseudonym: string; displayName: string; specialty: string | null; yearsOfExperience: number | null }> }>(
        serverOf(options),
        `{ raters { id pseudonym displayName specialty yearsOfExperience } }`,
      );
      if (options.json) return console.log(JSON.stringify(raters, null, 2));
      for (const entry of raters) {
        const about = [entry.specialty, entry.yearsOfExperience !== null ? `${entry.yearsOfExperience} y` : null].filter(Boolean).join(', ');
        console.log(`${entry.pseudonym}  ${entry.displayName}${about ? ` (${about})` : ''}  [${entry.id}]`);
      }
    });
}
