import type { GraphQLSchema } from 'graphql';
import { createPubSub } from '@graphql-yoga/subscription';
import { buildSchema } from 'type-graphql';
import { DatasetResolver } from '../resolvers/DatasetResolver';
import { DistortedImageResolver, DistortionResolver, ImageDistortionsResolver } from '../resolvers/DistortionResolver';
import { ImageResolver } from '../resolvers/ImageResolver';
import { JobResolver } from '../resolvers/JobResolver';
import { ModelResolver } from '../resolvers/ModelResolver';
import { JobTrainingResolver, TrainingResolver } from '../resolvers/TrainingResolver';

export function buildMedpsimSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [DatasetResolver, DistortedImageResolver, DistortionResolver, ImageDistortionsResolver, ImageResolver, JobResolver, ModelResolver, TrainingResolver, JobTrainingResolver],
    validate: false, // inputs are checked in the domain modules, which name the field and its range
    // type-graphql requires a PubSub once there are subscriptions; ours stream from PostgreSQL
    // notifications through their own subscribe functions (jobs/watch.ts), so this one carries nothing.
    pubSub: createPubSub(),
  });
}
