import { GraphQLJSONObject } from 'graphql-scalars';
import { Arg, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Model, ModelTask, ModelTensor } from '../entities/Model';
import * as models from '../models/registry';
import { ModelRegistration } from '../schema/models';
import type { RequestContext } from '../platform/context';
import { Allow, PIPELINES, READERS } from '../schema/guards';
import { shownPath } from './paths';

@Resolver(() => Model)
export class ModelResolver {
  @Allow(...READERS)
  @Query(() => [Model], { description: 'Registered ONNX models, by name.' })
  models(@Arg('task', () => ModelTask, { nullable: true }) task: ModelTask | null, @Ctx() { app }: RequestContext): Promise<Model[]> {
    return models.listModels(app, task);
  }

  @Allow(...READERS)
  @Query(() => Model)
  model(@Arg('name') name: string, @Ctx() { app }: RequestContext): Promise<Model> {
    return models.findModel(app, name);
  }

  @Allow(...PIPELINES)
  @Mutation(() => ModelRegistration, {
    description:
      'Registers an .onnx file on the server with the manifest beside it (<name>.json), after checking the manifest ' +
      "and the file's SHA-256. A name registered before is updated in place (change UPDATED).",
  })
  registerModel(@Arg('path') path: string, @Ctx() { app }: RequestContext): Promise<ModelRegistration> {
    return models.registerModel(app, path);
  }

  @FieldResolver(() => String, { description: 'The .onnx file on the server (its full path for ADMIN and PIPELINE).' })
  path(@Root() model: Model, @Ctx() context: RequestContext): string {
    return shownPath(context, model.path)!;
  }

  @FieldResolver(() => [ModelTensor], { description: "The graph's inputs (from the manifest)." })
  inputs(@Root() model: Model): ModelTensor[] {
    return models.tensorsOf(model.manifest.inputs);
  }

  @FieldResolver(() => [ModelTensor], { description: "The graph's outputs (from the manifest)." })
  outputs(@Root() model: Model): ModelTensor[] {
    return models.tensorsOf(model.manifest.outputs);
  }

  @FieldResolver(() => GraphQLJSONObject, { nullable: true, description: 'Evaluation metrics from training (per task; see training/README.md).' })
  metrics(@Root() model: Model): Record<string, unknown> | null {
    return model.manifest.metrics ?? null;
  }

  @FieldResolver(() => Boolean, { nullable: true, description: 'True: fine-tuned from pretrained weights; false: trained from scratch.' })
  pretrained(@Root() model: Model): boolean | null {
    return models.isPretrained(model.manifest);
  }

  @FieldResolver(() => String, { nullable: true, description: 'Where the initial weights came from, or why it was trained from scratch.' })
  initialization(@Root() model: Model): string | null {
    return models.initializationNote(model.manifest);
  }

  @FieldResolver(() => String, { nullable: true, description: 'When the training package exported it (ISO 8601).' })
  exportedAt(@Root() model: Model): string | null {
    return typeof model.manifest.createdAt === 'string' ? model.manifest.createdAt : null;
  }
}
