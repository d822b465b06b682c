import { Dataset } from './Dataset';
import { DistortedImage } from './DistortedImage';
import { Image } from './Image';
import { Job, JobItem } from './Job';
import { Foundation1764115200000 } from './migrations/1764115200000-Foundation';
import { Distortions1764122400000 } from './migrations/1764122400000-Distortions';

export { Dataset, DistortedImage, Image, Job, JobItem };
export { ItemOutcome, JobKind, JobState, FINISHED_STATES } from './Job';

export const entities = [Dataset, DistortedImage, Image, Job, JobItem];
/** In order; TypeORM records applied ones in the migrations table. */
export const migrations = [Foundation1764115200000, Distortions1764122400000];
