/**
 * Answers are never lost: each goes into an IndexedDB outbox before anything is sent, and a single sender
 * posts the entries in order, removing each once the server has answered for it (a receipt, a repeated one
 * included, or ALREADY_ANSWERED). On a network error it keeps them, says so, and retries with backoff and
 * on the browser's `online` event. A reload finds what is left and sends it first.
 *
 * Each answer is sent as the rater who gave it, never as whoever is signed in now (a shared browser): with
 * that rater's current token when they are the one signed in (a new invitation replaces an expired token),
 * else with the token they had. An answer whose rater's token is refused while another rater is signed in
 * waits, without holding up theirs, until its rater signs in on this browser again.
 */
import { ApiError, NetworkError, storedRater, storedToken, submitJudgment, type JudgmentInput, type Receipt } from './api';

interface Entry {
  seq?: number;
  input: JudgmentInput;
  /** The token and rater of who answered (rater: null in outboxes written before it was kept). */
  token: string | null;
  rater?: string | null;
}

/** This session's entries whose rater's token was refused while they are not the one signed in. */
const waiting = new Set<number>();

function tokenOf(entry: Entry): string | null {
  return entry.rater && entry.rater === storedRater() ? storedToken() : entry.token;
}

const DB_NAME = 'medpsim-read';
const STORE = 'outbox';

let opened: Promise<IDBDatabase> | null = null;

function database(): Promise<IDBDatabase> {
  opened ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'seq', autoIncrement: true });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opened;
}

function run<T>(mode: IDBTransactionMode, body: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return database().then(
    (db) =>
      new Promise<T>((resolve, reject) => {
        const transaction = db.transaction(STORE, mode);
        const request = body(transaction.objectStore(STORE));
        transaction.oncomplete = () => resolve(request.result);
        transaction.onerror = () => reject(transaction.error);
        transaction.onabort = () => reject(transaction.error);
      }),
  );
}

const allEntries = () => run<Entry[]>('readonly', (store) => store.getAll() as IDBRequest<Entry[]>);
/** The entries that can be sent now, in order. */
const entries = async () => (await allEntries()).filter((entry) => !waiting.has(entry.seq!));
const remove = (seq: number) => run('readwrite', (store) => store.delete(seq));

/** Puts an answer in the outbox (durably, before it is sent). */
export async function enqueue(input: JudgmentInput): Promise<void> {
  await run('readwrite', (store) => store.add({ input, token: storedToken(), rater: storedRater() } satisfies Entry));
}

export interface SenderEvents {
  /** Sending failed for now: the answers are safe on this device (true), or everything is sent (false). */
  pending(waiting: boolean): void;
  /** The token is no longer accepted: sending stops until the page is reloaded. */
  unauthenticated(): void;
}

const receipts = new Map<string, Receipt | null>();
let flushing: Promise<void> | null = null;
let wake: (() => void) | null = null;

window.addEventListener('online', () => wake?.());

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      wake = null;
      resolve();
    }
    wake = done;
  });
}

/** Sends everything in the outbox, in order; resolves once it is empty. */
export async function flush(events: SenderEvents): Promise<void> {
  // One sender at a time; an answer queued while it was finishing is picked up by the next round.
  do await send(events);
  while ((await entries()).length > 0);
}

function send(events: SenderEvents): Promise<void> {
  flushing ??= (async () => {
    let failures = 0;
    for (;;) {
      const queue = await entries();
      if (queue.length === 0) break;
      const entry = queue[0];
      const token = tokenOf(entry);
      try {
        receipts.set(entry.input.clientKey, await submitJudgment(entry.input, token));
      } catch (error) {
        if (error instanceof NetworkError) {
          failures++;
          events.pending(true);
          await pause(Math.min(500 * 2 ** (failures - 1), 15_000));
          continue;
        }
        if (error instanceof ApiError && error.code === 'UNAUTHENTICATED') {
          if (token !== storedToken()) {
            waiting.add(entry.seq!); // another rater's: kept for when they sign in here again
            continue;
          }
          events.unauthenticated();
          return new Promise<void>(() => undefined); // stays queued for after a new sign-in
        }
        // ALREADY_ANSWERED: the server has an answer (ours, sent before). Anything else the server refuses
        // for good (withdrawn, study closed, invalid): retrying cannot help, and must not block the rest.
        if (!(error instanceof ApiError && error.code === 'ALREADY_ANSWERED')) console.warn('medpsim: answer refused', error);
        receipts.set(entry.input.clientKey, null);
      }
      await remove(entry.seq!);
      failures = 0;
    }
    events.pending(false);
  })().finally(() => {
    flushing = null;
  });
  return flushing;
}

/** The receipt of a sent answer (null: the server had one already, or refused it), once flush is done. */
export function receiptOf(clientKey: string): Receipt | null | undefined {
  return receipts.get(clientKey);
}
