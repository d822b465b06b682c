import { Dataset } from './Dataset';
import { DistortedImage } from './DistortedImage';
import { Image } from './Image';
import { Job, JobItem } from './Job';
import { Model } from './Model';
import { Foundation1764115200000 } from './migrations/1764115200000-Foundation';
import { Distortions1764122400000 } from './migrations/1764122400000-Distortions';
import { Models1764300000000 } from './migrations/1764300000000-Models';

export { Dataset, DistortedImage, Image, Job, JobItem, Model };
export { ModelTask, ModelTensor } from './Model';
export { ItemOutcome, JobKind, JobState, FINISHED_STATES } from './Job';

export const entities = [Dataset, DistortedImage, Image, Job, JobItem, Model];
/** In order; TypeORM records applied ones in the migrations table. */
export const migrations = [Foundation1764115200000, Distortions1764122400000, Models1764300000000];
