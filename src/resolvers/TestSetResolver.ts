import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { ObjectType, Field } from 'type-graphql';
import { Job } from '../entities/Job';
import { TestSet, TestSetItem, TestSetKind } from '../entities/TestSet';
import { startBappsImport } from '../testsets/bapps-import';
import type { RequestContext } from '../platform/context';
import { BackendChoiceEnum } from '../schema/distortions';
import { Allow, PIPELINES, READERS } from '../schema/guards';
import { TestSetCount, TestSetDefinitionInput } from '../schema/testsets';
import { imageUrl } from '../server/image-route';
import * as testSets from '../testsets/service';

@ObjectType({ description: "An item's images: signed links that expire (8-bit, in the item's display window unless depth 16 is asked for)." })
export class ItemImages {
  @Field(() => String, { nullable: true, description: '2AFC only.' })
  ref!: string | null;

  @Field({ description: 'JND: the reference.' })
  p0!: string;

  @Field()
  p1!: string;
}

@Resolver()
export class TestSetResolver {
  @Allow(...READERS)
  @Query(() => [TestSet], { description: 'Test sets, newest first.' })
  testSets(
    @Arg('first', () => Int, { defaultValue: 50 }) first: number,
    @Arg('offset', () => Int, { defaultValue: 0 }) offset: number,
    @Ctx() { app }: RequestContext,
  ): Promise<TestSet[]> {
    return testSets.listTestSets(app, { first, offset });
  }

  @Allow(...READERS)
  @Query(() => TestSet)
  testSet(@Arg('id', () => ID) id: string, @Ctx() { app }: RequestContext): Promise<TestSet> {
    return testSets.getTestSet(app, id);
  }

  @Allow(...PIPELINES)
  @Mutation(() => TestSet, { description: 'Checks a definition and builds the set from it as a job (the set is READY once every item is built).' })
  createTestSet(
    @Arg('definition') definition: TestSetDefinitionInput,
    @Arg('backend', () => BackendChoiceEnum, { defaultValue: BackendChoiceEnum.AUTO }) backend: BackendChoiceEnum,
    @Ctx() { app }: RequestContext,
  ): Promise<TestSet> {
    return testSets.createTestSet(app, definition, backend);
  }

  @Allow(...PIPELINES)
  @Mutation(() => TestSet, {
    description: 'A new version of a set: rebuilt from the same definition and seed (its contentHash must match), or from a changed definition.',
  })
  cloneTestSet(
    @Arg('id', () => ID) id: string,
    @Arg('definition', () => TestSetDefinitionInput, { nullable: true }) definition: TestSetDefinitionInput | null,
    @Ctx() { app }: RequestContext,
  ): Promise<TestSet> {
    return testSets.cloneTestSet(app, id, definition);
  }

  @Allow(...PIPELINES)
  @Mutation(() => TestSet, { description: 'Imports a folder in the BAPPS layout (its 2afc or jnd part) as a test set with its stored judgments, as a job.' })
  async importBappsTestSet(
    @Arg('path', { description: 'The folder on the server (inside MEDPSIM_IMPORT_ROOTS) holding 2afc/ and/or jnd/.' }) path: string,
    @Arg('name') name: string,
    @Arg('kind', () => TestSetKind) kind: TestSetKind,
    @Ctx() { app }: RequestContext,
  ): Promise<TestSet> {
    return testSets.getTestSet(app, await startBappsImport(app, { path, name, kind }));
  }

  @Allow(...PIPELINES)
  @Mutation(() => TestSet, { description: 'Deletes a set no study judges (LOCKED otherwise).' })
  deleteTestSet(@Arg('id', () => ID) id: string, @Ctx() { app }: RequestContext): Promise<TestSet> {
    return testSets.deleteTestSet(app, id);
  }
}

@Resolver(() => TestSet)
export class TestSetFieldsResolver {
  @FieldResolver(() => [TestSetItem], { description: 'Items in position order (the first `first`, at most 1000), optionally of one role or category.' })
  items(
    @Root() set: TestSet,
    @Arg('role', () => String, { nullable: true }) role: string | null,
    @Arg('category', () => String, { nullable: true }) category: string | null,
    @Arg('first', () => Int, { defaultValue: 100 }) first: number,
    @Arg('offset', () => Int, { defaultValue: 0 }) offset: number,
    @Ctx() { app }: RequestContext,
  ): Promise<TestSetItem[]> {
    return testSets.listItems(app, set.id, { role, category }, { first, offset });
  }

  @FieldResolver(() => [TestSetCount], { description: 'Items per role and category.' })
  counts(@Root() set: TestSet, @Ctx() { app }: RequestContext): Promise<TestSetCount[]> {
    return testSets.itemCounts(app, set.id);
  }

  @FieldResolver(() => Job, { nullable: true })
  job(@Root() set: TestSet, @Ctx() { app }: RequestContext): Promise<Job | null> {
    return set.jobId ? app.db.dataSource.getRepository(Job).findOneBy({ id: set.jobId }) : Promise.resolve(null);
  }
}

@Resolver(() => TestSetItem)
export class TestSetItemResolver {
  @FieldResolver(() => ItemImages, { nullable: true, description: 'Null until the item is built.' })
  async images(@Root() item: TestSetItem, @Arg('depth', () => Int, { defaultValue: 8 }) depth: number, @Ctx() context: RequestContext): Promise<ItemImages | null> {
    if (!item.p0Hash || !item.p1Hash) return null;
    const url = (slot: testSets.ItemSlot) => imageUrl(context, 'test-set-items', `${item.id}/${slot}`, { depth });
    return { ref: item.refHash ? await url('ref') : null, p0: await url('p0'), p1: await url('p1') };
  }
}
