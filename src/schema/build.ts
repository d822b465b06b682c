import type { GraphQLSchema } from 'graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { buildSchema } from 'type-graphql';
import type { DomainModule } from '../platform/module';
import { assertEveryRootFieldHasARule } from './guards';

/** The schema of the modules' resolvers; refused if a Query, Mutation or Subscription field has no access rule. */
export async function buildMedpsimSchema(modules: readonly DomainModule[]): Promise<GraphQLSchema> {
  const resolvers = modules.flatMap((module) => module.resolvers ?? []);
  const schema = await buildSchema({
    resolvers: resolvers as [Function, ...Function[]],
    validate: false, // inputs are checked in the domain modules, which name the field and its range
    // type-graphql requires a PubSub once there are subscriptions; ours stream from PostgreSQL
    // notifications through their own subscribe functions (jobs/watch.ts), so this one carries nothing.
    pubSub: createPubSub(),
  });
  assertEveryRootFieldHasARule(schema);
  return schema;
}
