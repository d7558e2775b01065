/**
 * The sidebar's state and the one place that talks to the server extension: fetches
 * status, pool, account and jobs, applies live events through the pure reducer, and
 * re-fetches the job list (debounced) after events for positions. No polling: a slow
 * safety refresh only, and quick status re-checks while the pool is starting.
 */

import { ApiError, describeError } from './apierror';
import { EventHandlers, EventStream } from './events';
import { applyEvent, isActive } from './reducer';
import {
  Account,
  EventType,
  Job,
  JobEvent,
  PoolInfo,
  Status,
  Why
} from './types';

export interface FairshareApi {
  status(): Promise<Status>;
  pool(): Promise<PoolInfo>;
  account(): Promise<Account>;
  jobs(): Promise<Job[]>;
  why(id: string): Promise<Why>;
  cancel(id: string): Promise<Job>;
}

export interface SidebarState {
  /** Null until the first status answer. */
  status: Status | null;
  /** The server extension itself did not answer (not installed, server down). */
  statusError: string | null;
  pool: PoolInfo | null;
  poolError: string | null;
  account: Account | null;
  accountError: string | null;
  /** Null while the first list loads. */
  jobs: readonly Job[] | null;
  jobsError: string | null;
}

export const INITIAL_STATE: SidebarState = {
  status: null,
  statusError: null,
  pool: null,
  poolError: null,
  account: null,
  accountError: null,
  jobs: null,
  jobsError: null
};

export interface StoreTimings {
  /** Wait after the last event before re-fetching the job list. */
  debounceMs: number;
  /** The safety refresh, for anything the stream could not tell. */
  safetyMs: number;
  /** Status re-check while the pool is starting. */
  startingMs: number;
}

export const DEFAULT_TIMINGS: StoreTimings = {
  debounceMs: 100,
  safetyMs: 30_000,
  startingMs: 2_000
};

type Listener = (state: SidebarState) => void;
type OpenEvents = (handlers: EventHandlers) => EventStream;

// The events after which the account's held and spent credits may have changed.
const STATE_EVENTS: ReadonlySet<EventType> = new Set<EventType>([
  'queued',
  'started',
  'requeued',
  'done',
  'failed',
  'cancelled'
]);

export class FairshareStore {
  constructor(
    private readonly api: FairshareApi,
    private readonly openEvents: OpenEvents,
    private readonly timings: StoreTimings = DEFAULT_TIMINGS
  ) {}

  get state(): SidebarState {
    return this._state;
  }

  /** The jobs that can still be cancelled, newest first. */
  get activeJobs(): Job[] {
    return (this._state.jobs ?? []).filter(isActive);
  }

  /** Call `listener` on every change; returns the way to stop. */
  subscribe(listener: Listener): () => void {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  /** Fetch everything, open the event stream and start the safety refresh. */
  start(): void {
    if (this._started || this._disposed) {
      return;
    }
    this._started = true;
    this._stream = this.openEvents({
      onEvent: event => this.handleEvent(event),
      onOpen: () => void this.refresh(),
      onUnavailable: () => void this.refresh()
    });
    this._safety = setInterval(() => void this.refresh(), this.timings.safetyMs);
    void this.refresh();
  }

  /** Re-fetch the status and, when the pool is ready, the pool, account and jobs. */
  async refresh(): Promise<void> {
    let status: Status;
    try {
      status = await this.api.status();
    } catch (error) {
      this.update({ statusError: describeError(error) });
      return;
    }
    this.update({ status, statusError: null });
    if (status.state === 'starting') {
      this.recheckStatus();
      return;
    }
    if (status.state !== 'ready') {
      return;
    }
    await Promise.all([this.refreshPool(), this.refreshAccount(), this.refreshJobs()]);
  }

  /** Apply one live event, then re-fetch (debounced) what it may have moved. */
  handleEvent(event: JobEvent): void {
    if (this._disposed) {
      return;
    }
    const jobs = this._state.jobs;
    if (jobs) {
      const next = applyEvent(jobs, event, Date.now() / 1000);
      if (next !== jobs) {
        this.update({ jobs: next });
      }
    }
    if (event.type === 'output') {
      return;
    }
    this._accountDirty ||= STATE_EVENTS.has(event.type);
    if (this._debounce !== null) {
      clearTimeout(this._debounce);
    }
    this._debounce = setTimeout(() => {
      this._debounce = null;
      const account = this._accountDirty;
      this._accountDirty = false;
      void this.refreshJobs();
      if (account) {
        // a start or an end moves the account's holds and the sites' free capacity
        void this.refreshAccount();
        void this.refreshPool();
      }
    }, this.timings.debounceMs);
  }

  /** Why a job waits where it waits. */
  why(id: string): Promise<Why> {
    return this.api.why(id);
  }

  /** Cancel a job; the row shows it cancelled at once. Throws the sentence to show. */
  async cancel(id: string): Promise<Job> {
    const job = await this.api.cancel(id);
    if (this._state.jobs) {
      this.update({
        jobs: this._state.jobs.map(item => (item.id === job.id ? job : item))
      });
    }
    void this.refreshAccount();
    return job;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._stream?.close();
    this._stream = null;
    for (const timer of [this._debounce, this._starting]) {
      if (timer !== null) {
        clearTimeout(timer);
      }
    }
    if (this._safety !== null) {
      clearInterval(this._safety);
    }
    this._listeners.clear();
  }

  private async refreshPool(): Promise<void> {
    try {
      this.update({ pool: await this.api.pool(), poolError: null });
    } catch (error) {
      this.failed(error, { poolError: describeError(error) });
    }
  }

  private async refreshAccount(): Promise<void> {
    try {
      this.update({ account: await this.api.account(), accountError: null });
    } catch (error) {
      this.failed(error, { accountError: describeError(error) });
    }
  }

  private async refreshJobs(): Promise<void> {
    try {
      this.update({ jobs: await this.api.jobs(), jobsError: null });
    } catch (error) {
      this.failed(error, { jobsError: describeError(error) });
    }
  }

  /** Record a failed fetch; when the pool itself went away, the status says so. */
  private failed(error: unknown, change: Partial<SidebarState>): void {
    this.update(change);
    if (error instanceof ApiError && error.state && this._state.status) {
      this.update({
        status: { ...this._state.status, state: error.state, message: error.message }
      });
    }
  }

  private recheckStatus(): void {
    if (this._starting !== null || this._disposed) {
      return;
    }
    this._starting = setTimeout(() => {
      this._starting = null;
      void this.refresh();
    }, this.timings.startingMs);
  }

  private update(change: Partial<SidebarState>): void {
    if (this._disposed) {
      return;
    }
    this._state = { ...this._state, ...change };
    for (const listener of this._listeners) {
      listener(this._state);
    }
  }

  private _state: SidebarState = INITIAL_STATE;
  private _listeners = new Set<Listener>();
  private _stream: EventStream | null = null;
  private _safety: ReturnType<typeof setInterval> | null = null;
  private _debounce: ReturnType<typeof setTimeout> | null = null;
  private _starting: ReturnType<typeof setTimeout> | null = null;
  private _accountDirty = false;
  private _started = false;
  private _disposed = false;
}
