import { Arg, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Job } from '../entities/Job';
import { Model } from '../entities/Model';
import { ModelZoo, ModelZooState, ZooDraw, ZooDrawState } from '../entities/ModelZoo';
import type { RequestContext } from '../platform/context';
import { Allow, PIPELINES, READERS } from '../schema/guards';
import { TrainGeneratorZooInput, ZooKnob, zooKnobs } from '../schema/zoo';
import { findZoo, listZoos, trainGeneratorZoo, zooDraws, zooState } from '../training/zoo';

@Resolver(() => ModelZoo)
export class ZooResolver {
  @Allow(...PIPELINES)
  @Mutation(() => ModelZoo, {
    description:
      'Trains a zoo of K generators whose Table 1 knobs are drawn, seeded, from the given ranges, as a job (kind TRAIN_ZOO) ' +
      'with one item per member; returns the zoo at once. Follow zoo.job with jobProgress.',
  })
  async trainGeneratorZoo(@Arg('input') input: TrainGeneratorZooInput, @Ctx() { app }: RequestContext): Promise<ModelZoo> {
    return findZoo(app, await trainGeneratorZoo(app, input), 'id');
  }

  @Allow(...READERS)
  @Query(() => [ModelZoo], { description: 'Generator zoos, by name.' })
  modelZoos(@Ctx() { app }: RequestContext): Promise<ModelZoo[]> {
    return listZoos(app);
  }

  @Allow(...READERS)
  @Query(() => ModelZoo, { description: 'One zoo by name; NOT_FOUND when there is none.' })
  modelZoo(@Arg('name') name: string, @Ctx() { app }: RequestContext): Promise<ModelZoo> {
    return findZoo(app, name);
  }

  @Allow(...READERS)
  @Query(() => [ZooKnob], { description: 'The knobs a zoo draws, with their limits and default ranges.' })
  zooKnobs(): ZooKnob[] {
    return zooKnobs();
  }

  @FieldResolver(() => ModelZooState)
  state(@Root() zoo: ModelZoo, @Ctx() { app }: RequestContext): Promise<ModelZooState> {
    return zooState(app, zoo);
  }

  @FieldResolver(() => Job, { nullable: true, description: 'The TRAIN_ZOO job (null once deleted).' })
  job(@Root() zoo: ModelZoo, @Ctx() { app }: RequestContext): Promise<Job | null> {
    return zoo.jobId ? app.db.dataSource.getRepository(Job).findOneBy({ id: zoo.jobId }) : Promise.resolve(null);
  }

  @FieldResolver(() => [ZooDraw], { description: 'The members trained so far, by index.' })
  members(@Root() zoo: ModelZoo, @Ctx() { app }: RequestContext): Promise<ZooDraw[]> {
    return zooDraws(app, zoo.id, ZooDrawState.MEMBER);
  }

  @FieldResolver(() => [ZooDraw], { description: 'Draws the guard found degenerate and replaced, with their statistics and reasons.' })
  degenerateDraws(@Root() zoo: ModelZoo, @Ctx() { app }: RequestContext): Promise<ZooDraw[]> {
    return zooDraws(app, zoo.id, ZooDrawState.DEGENERATE);
  }
}

@Resolver(() => ZooDraw)
export class ZooDrawResolver {
  @FieldResolver(() => Model, { nullable: true, description: "A member's registered model (null for degenerate draws, or once unregistered)." })
  model(@Root() draw: ZooDraw, @Ctx() { app }: RequestContext): Promise<Model | null> {
    return draw.modelName ? app.db.dataSource.getRepository(Model).findOneBy({ name: draw.modelName }) : Promise.resolve(null);
  }
}
