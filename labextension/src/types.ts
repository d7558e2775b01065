/**
 * The shapes the server extension serves under `fairshare/api/`. What the pool defines
 * (jobs, bills, accounts, the job states and event types) comes from
 * `./generated/api`, which is generated from the pool's OpenAPI spec; the rest (the
 * extension's status, and the pool's sites, prices and why views, which the pool serves
 * without a declared model) is written here.
 */

import * as api from './generated/api';
import { EVENT_TYPES, JOB_STATES } from './generated/api';

export { EVENT_TYPES, FINAL_STATES, JOB_STATES } from './generated/api';

/** A model as the pool serves it: every field is present, defaults included. */
type Served<T> = { [K in keyof T]-?: Exclude<T[K], undefined> };

/** The keys of `T` named in `K`; a name `T` lacks fails to compile. */
type KeysOf<T, K extends keyof T> = K;

export type JobState = (typeof JOB_STATES)[number];

export const ACTIVE_STATES: readonly JobState[] = ['queued', 'running'];

/** One line of a bill; the pool's model leaves a line's shape open, the billing code fixes it. */
export interface BillLine {
  item: 'cpu' | 'memory' | 'gpu';
  quantity: number;
  unit: string;
  price: number;
  amount: number;
}

export interface Bill extends Omit<api.Bill, KeysOf<api.Bill, 'lines'>> {
  lines: BillLine[];
}

export interface Job
  extends Omit<
    Served<api.Job>,
    KeysOf<api.Job, 'bill' | 'progress' | 'notebook' | 'cell' | 'inline' | 'greener_window'>
  > {
  bill: Bill | null;
  progress: { done: number; total: number } | null;
  /** The notebook the job came from (a server-relative path), when known. */
  notebook?: string | null;
  /** The id of the cell the job came from, when known. */
  cell?: string | null;
}

export type Account = api.Account;

export type PoolState = 'starting' | 'ready' | 'unreachable' | 'bad-token';

export interface Status {
  state: PoolState;
  message: string | null;
  pool_url: string | null;
  embedded: boolean;
}

export interface Site {
  name: string;
  workers: number;
  cpus: number;
  free_cpus: number;
  memory: number;
  gpus: number;
  carbon_intensity: number | null;
  carbon_source: string | null;
  price_version: number | null;
}

export interface Price {
  site: string;
  version: number;
  cpu_second: number;
  memory_gb_second: number;
  gpu_second: number;
  breakdown: Record<string, unknown>;
}

export interface PoolInfo {
  sites: Site[];
  prices: Price[];
}

export interface PriorityComponents {
  fairshare: number;
  age: number;
  reserve: number;
  priority: number;
}

export interface Why {
  position: number | null;
  queue_length: number | null;
  expected_start: number | null;
  components: PriorityComponents;
  ahead: Array<{
    position: number;
    tier: string;
    priority: number;
    components: PriorityComponents;
  }>;
}

export type EventType = (typeof EVENT_TYPES)[number];

/** One job event as the events stream carries it: its type and its JSON data. */
export interface JobEvent {
  type: EventType;
  data: { job: string } & Record<string, unknown>;
}
