/** GraphQL types of the access module that are not rows: inputs, and results that carry a secret once. */
import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { ApiToken } from '../entities/ApiToken';
import { Rater } from '../entities/Rater';
import { Role } from '../platform/context';

@InputType()
export class CreateTokenInput {
  @Field({ description: 'What the token is for (1 to 100 characters), e.g. "import pipeline on host x".' })
  label!: string;

  @Field(() => Role, { description: 'ADMIN, PIPELINE or ANALYST (RATER tokens come from invitations).' })
  role!: Role;

  @Field(() => Int, { nullable: true, description: 'Days until it expires, 1 to 3650; null: never.' })
  expiresInDays?: number | null;
}

@ObjectType({ description: 'A token just made: `secret` is shown this once and cannot be recovered.' })
export class NewToken {
  @Field({ description: 'Send it as "Authorization: Bearer <secret>" (on graphql-ws: {"authorization": "Bearer <secret>"} in connection_init).' })
  secret!: string;

  @Field(() => ApiToken)
  token!: ApiToken;
}

@InputType()
export class CreateRaterInput {
  @Field({ description: 'Name or pseudonym (1 to 100 characters); only ADMIN sees it.' })
  displayName!: string;

  @Field(() => String, { nullable: true, description: 'e.g. radiology.' })
  specialty?: string | null;

  @Field(() => Int, { nullable: true, description: '0 to 80.' })
  yearsOfExperience?: number | null;
}

@ObjectType({ description: "A one-time, expiring invitation: give the link (or code) to the rater; it opens the reading app." })
export class RaterInvitation {
  @Field(() => Rater)
  rater!: Rater;

  @Field({ description: 'The one-time code (128 random bits); the server keeps only its hash.' })
  code!: string;

  @Field({ description: 'The reading-app link with the code (in the #fragment, which browsers never send to a server).' })
  url!: string;

  @Field()
  expiresAt!: Date;
}

@ObjectType({ description: 'Who the request runs as.' })
export class Me {
  @Field(() => Role)
  role!: Role;

  @Field(() => ID)
  tokenId!: string;

  @Field({ description: 'The token prefix (mpsim_xxxxxxxx).' })
  tokenPrefix!: string;

  @Field(() => Rater, { nullable: true, description: 'The rater, for a RATER token.' })
  rater!: Rater | null;
}
