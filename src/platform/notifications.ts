/**
 * PostgreSQL notifications across processes: a process NOTIFYs on a channel after a change (a job's
 * progress, a revoked token); each process LISTENs on one connection and wakes the local listeners of that
 * channel and key (the payload). A lost connection is reopened; listeners of `onReconnect` hear about it,
 * since notifications sent meanwhile were missed.
 */
import { EventEmitter } from 'node:events';
import pg from 'pg';

const CHANNEL = /^[a-z_][a-z0-9_]*$/;
const RECONNECT_MS = 1000;

export async function notify(db: { query(text: string, values: unknown[]): Promise<unknown> }, channel: string, key: string): Promise<void> {
  await db.query(`SELECT pg_notify($1, $2)`, [channel, key]);
}

export class Notifications {
  private readonly events = new EventEmitter();
  private readonly channels = new Set<string>();
  private client: pg.Client | null = null;
  private stopped = false;
  private reconnecting: NodeJS.Timeout | null = null;

  constructor(private readonly url: string) {
    this.events.setMaxListeners(0);
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnecting) clearTimeout(this.reconnecting);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
    this.events.removeAllListeners();
  }

  /** Starts listening on a channel (once per process; idempotent). */
  async listen(channel: string): Promise<void> {
    if (!CHANNEL.test(channel)) throw new Error(`bad notification channel name "${channel}"`);
    if (this.channels.has(channel)) return;
    this.channels.add(channel);
    await this.client?.query(`LISTEN ${channel}`);
  }

  /** Calls onChange on each notification of (channel, key) until the returned function is called. */
  watch(channel: string, key: string, onChange: () => void): () => void {
    const event = `${channel}\0${key}`;
    this.events.on(event, onChange);
    return () => this.events.off(event, onChange);
  }

  /** Every notification of a channel, with its key. */
  onChannel(channel: string, listener: (key: string) => void): () => void {
    this.events.on(channel, listener);
    return () => this.events.off(channel, listener);
  }

  /** Called after the listening connection was lost and reopened. */
  onReconnect(listener: () => void): () => void {
    this.events.on('\0reconnect', listener);
    return () => this.events.off('\0reconnect', listener);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (message) => {
      if (!message.payload) return;
      this.events.emit(`${message.channel}\0${message.payload}`);
      this.events.emit(message.channel, message.payload);
    });
    client.on('error', (error) => {
      if (this.stopped || this.client !== client) return;
      console.error('[notifications] listening connection lost:', error.message);
      this.client = null;
      client.end().catch(() => {});
      this.scheduleReconnect();
    });
    await client.connect();
    for (const channel of this.channels) await client.query(`LISTEN ${channel}`);
    this.client = client;
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnecting) return;
    this.reconnecting = setTimeout(async () => {
      this.reconnecting = null;
      try {
        await this.connect();
        this.events.emit('\0reconnect');
      } catch {
        this.scheduleReconnect();
      }
    }, RECONNECT_MS);
    this.reconnecting.unref();
  }
}
