import { Dataset } from './Dataset';
import { DistortedImage } from './DistortedImage';
import { Image } from './Image';
import { Job, JobItem } from './Job';
import { Model } from './Model';
import { TrainingRun } from './TrainingRun';
import { Foundation1764115200000 } from './migrations/1764115200000-Foundation';
import { Distortions1764122400000 } from './migrations/1764122400000-Distortions';
import { Models1764300000000 } from './migrations/1764300000000-Models';
import { Training1764300000001 } from './migrations/1764300000001-Training';

export { Dataset, DistortedImage, Image, Job, JobItem, Model, TrainingRun };
export { ModelTask, ModelTensor } from './Model';
export { ItemOutcome, JobKind, JobState, FINISHED_STATES } from './Job';

export const entities = [Dataset, DistortedImage, Image, Job, JobItem, Model, TrainingRun];
/** In order; TypeORM records applied ones in the migrations table. */
export const migrations = [Foundation1764115200000, Distortions1764122400000, Models1764300000000, Training1764300000001];
