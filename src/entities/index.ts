import { Dataset } from './Dataset';
import { Image } from './Image';
import { Job, JobItem } from './Job';
import { Foundation1764115200000 } from './migrations/1764115200000-Foundation';

export { Dataset, Image, Job, JobItem };
export { ItemOutcome, JobKind, JobState, FINISHED_STATES } from './Job';

export const entities = [Dataset, Image, Job, JobItem];
/** In order; TypeORM records applied ones in the migrations table. */
export const migrations = [Foundation1764115200000];
