import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { listAudit } from '../access/audit';
import { acceptInvitation, createRater, getRater, inviteRater, listRaters, type Invitation } from '../access/raters';
import { checkTokenRequest, issueToken, listTokens, revokeToken } from '../access/tokens';
import { ApiToken, TokenOrigin } from '../entities/ApiToken';
import { AuditEntry } from '../entities/AuditEntry';
import { Rater } from '../entities/Rater';
import { Role, type RequestContext } from '../platform/context';
import { CreateRaterInput, CreateTokenInput, Me, NewToken, RaterInvitation } from '../schema/access';
import { Allow, Authenticated, Public } from '../schema/guards';

function invitationView(context: RequestContext, invitation: Invitation): RaterInvitation {
  return { ...invitation, url: `${context.baseUrl}/read#invite=${invitation.code}` };
}

@Resolver()
export class AccessResolver {
  @Authenticated()
  @Query(() => Me, { description: 'The role and token of this request (and the rater, for a RATER token).' })
  async me(@Ctx() { app, principal }: RequestContext): Promise<Me> {
    const { tokenId, role, prefix, raterId } = principal!;
    return { tokenId, role, tokenPrefix: prefix, rater: raterId ? await getRater(app, raterId) : null };
  }

  @Allow(Role.ADMIN)
  @Query(() => [ApiToken], { description: 'Tokens, newest first: the active ones, or all with includeInactive.' })
  tokens(
    @Arg('includeInactive', { defaultValue: false }) includeInactive: boolean,
    @Arg('role', () => Role, { nullable: true }) role: Role | null,
    @Ctx() { app }: RequestContext,
  ): Promise<ApiToken[]> {
    return listTokens(app, { includeInactive, role });
  }

  @Allow(Role.ADMIN)
  @Mutation(() => NewToken, { description: 'Makes an API token; its secret is in the result, once.' })
  async createToken(@Arg('input') input: CreateTokenInput, @Ctx() { app, principal }: RequestContext): Promise<NewToken> {
    const checked = checkTokenRequest(input);
    return issueToken(app.pool, { ...checked, origin: TokenOrigin.CREATED, createdBy: principal!.tokenId });
  }

  @Allow(Role.ADMIN)
  @Mutation(() => ApiToken, { description: 'Revokes a token (by id or prefix): its next request fails, its open subscriptions close.' })
  revokeToken(@Arg('id') id: string, @Ctx() { app }: RequestContext): Promise<ApiToken> {
    return revokeToken(app, id);
  }

  @Allow(Role.ADMIN, Role.ANALYST)
  @Query(() => [Rater], { description: 'Raters, oldest first.' })
  raters(@Ctx() { app }: RequestContext): Promise<Rater[]> {
    return listRaters(app);
  }

  @Allow(Role.ADMIN)
  @Mutation(() => RaterInvitation, { description: 'Adds a rater and returns a one-time invitation (default: valid 72 h).' })
  async createRater(
    @Arg('input') input: CreateRaterInput,
    @Arg('expiresInHours', () => Int, { nullable: true }) expiresInHours: number | null,
    @Ctx() context: RequestContext,
  ): Promise<RaterInvitation> {
    return invitationView(context, await createRater(context.app, input, expiresInHours));
  }

  @Allow(Role.ADMIN)
  @Mutation(() => RaterInvitation, { description: "A new invitation for a rater (another browser, a lost link); their unused ones stop working." })
  async inviteRater(
    @Arg('raterId', () => ID) raterId: string,
    @Arg('expiresInHours', () => Int, { nullable: true }) expiresInHours: number | null,
    @Ctx() context: RequestContext,
  ): Promise<RaterInvitation> {
    return invitationView(context, await inviteRater(context.app, raterId, expiresInHours));
  }

  @Public()
  @Mutation(() => NewToken, { description: "Exchanges a one-time invitation code for the rater's token (the reading app does this)." })
  acceptInvitation(@Arg('code') code: string, @Ctx() { app }: RequestContext): Promise<NewToken> {
    return acceptInvitation(app, code);
  }

  @Allow(Role.ADMIN)
  @Query(() => [AuditEntry], { description: 'The audit log, newest first; page with before (an entry id).' })
  auditLog(
    @Arg('first', () => Int, { defaultValue: 100 }) first: number,
    @Arg('before', () => ID, { nullable: true }) before: string | null,
    @Arg('operation', () => String, { nullable: true }) operation: string | null,
    @Arg('tokenId', () => ID, { nullable: true }) tokenId: string | null,
    @Ctx() { app }: RequestContext,
  ): Promise<AuditEntry[]> {
    return listAudit(app, { first, before, operation, tokenId });
  }
}

@Resolver(() => ApiToken)
export class ApiTokenResolver {
  @FieldResolver(() => Rater, { nullable: true })
  rater(@Root() token: ApiToken, @Ctx() { app }: RequestContext): Promise<Rater | null> | null {
    return token.raterId ? getRater(app, token.raterId) : null;
  }
}
