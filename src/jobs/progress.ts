/**
 * Job progress for subscriptions: workers (in this or another process) NOTIFY on a channel after changing a
 * job; each API process LISTENs on one connection and wakes the subscriptions of that job.
 */
import { EventEmitter } from 'node:events';
import pg from 'pg';
import { JOB_CHANNEL } from './store';

export class ProgressHub {
  private readonly events = new EventEmitter();
  private client: pg.Client | null = null;

  constructor(private readonly url: string) {
    this.events.setMaxListeners(0);
  }

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (message) => {
      if (message.channel === JOB_CHANNEL && message.payload) this.events.emit(message.payload);
    });
    client.on('error', (error) => console.error('[progress] listener connection lost:', error.message));
    await client.connect();
    await client.query(`LISTEN ${JOB_CHANNEL}`);
    this.client = client;
  }

  async stop(): Promise<void> {
    await this.client?.end().catch(() => {});
    this.client = null;
    this.events.removeAllListeners();
  }

  /** Calls onChange on every change of the job until the returned function is called. */
  watch(jobId: string, onChange: () => void): () => void {
    this.events.on(jobId, onChange);
    return () => this.events.off(jobId, onChange);
  }
}
