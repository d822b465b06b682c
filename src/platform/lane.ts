/**
 * A lane for interactive work (a preview a client waits for): at most `concurrency` run at once, at most
 * `queue` wait, and the rest are refused at once (TOO_BUSY) rather than piling up. A waiting or running
 * request whose signal aborts (its client went away, its time ran out) leaves the lane.
 */
import { AppError } from './errors';

export class TooBusyError extends AppError {
  constructor(what: string) {
    super('TOO_BUSY', `the server is busy with other ${what}; try again in a moment`);
  }
}

export class Lane {
  private running = 0;
  private readonly waiting: Array<{ start: () => void; signal: AbortSignal }> = [];
  /** Counters, for tests and logs. */
  readonly stats = { completed: 0, cancelled: 0, refused: 0 };

  constructor(
    private readonly what: string,
    private readonly concurrency: number,
    private readonly queue: number,
  ) {}

  /** Runs going on now. */
  get busy(): number {
    return this.running;
  }

  async run<T>(signal: AbortSignal, work: () => Promise<T>): Promise<T> {
    signal.throwIfAborted();
    if (this.running < this.concurrency) this.running++;
    else await this.wait(signal); // a finishing run hands its place over (release)
    try {
      const result = await work();
      this.stats.completed++;
      return result;
    } catch (error) {
      if (signal.aborted) this.stats.cancelled++;
      throw error;
    } finally {
      this.release();
    }
  }

  private wait(signal: AbortSignal): Promise<void> {
    if (this.waiting.length >= this.queue) {
      this.stats.refused++;
      throw new TooBusyError(this.what);
    }
    return new Promise<void>((resolve, reject) => {
      const entry = {
        signal,
        start: () => {
          signal.removeEventListener('abort', leave);
          resolve();
        },
      };
      const leave = () => {
        const index = this.waiting.indexOf(entry);
        if (index >= 0) this.waiting.splice(index, 1);
        this.stats.cancelled++;
        reject(signal.reason);
      };
      signal.addEventListener('abort', leave, { once: true });
      this.waiting.push(entry);
    });
  }

  private release(): void {
    const entry = this.waiting.shift();
    if (entry) entry.start();
    else this.running--;
  }
}
