/** GraphQL types of the model registry that are not rows: the result of registerModel. */
import { Field, ObjectType, registerEnumType } from 'type-graphql';
import { Model } from '../entities/Model';
import { ModelRegistrationChange } from '../models/registry';

registerEnumType(ModelRegistrationChange, {
  name: 'ModelRegistrationChange',
  valuesConfig: {
    CREATED: { description: 'A new name.' },
    UPDATED: { description: 'The name existed; its path, file (hash) or manifest changed and the row was replaced.' },
    UNCHANGED: { description: 'The same files were registered already.' },
  },
});

@ObjectType()
export class ModelRegistration {
  @Field(() => Model)
  model!: Model;

  @Field(() => ModelRegistrationChange)
  change!: ModelRegistrationChange;

  @Field(() => String, { nullable: true, description: 'SHA-256 of the .onnx file registered under this name before, if any.' })
  previousSha256!: string | null;
}
