/**
 * The shapes the server extension serves under `fairshare/api/` (see docs/http-api.md
 * for the job, bill and event fields the pool defines).
 */

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export const ACTIVE_STATES: readonly JobState[] = ['queued', 'running'];

export interface BillLine {
  item: 'cpu' | 'memory' | 'gpu';
  quantity: number;
  unit: string;
  price: number;
  amount: number;
}

export interface Bill {
  lines: BillLine[];
  total: number;
  capped: boolean;
  site: string;
  price_version: number;
  energy_kwh: number;
  carbon_intensity: number;
  co2e_g: number;
  cpu_seconds: number;
  wall_seconds: number;
  peak_memory: number;
}

export interface Job {
  id: string;
  name: string;
  kind: string;
  state: JobState;
  reason: string | null;
  cpus: number;
  memory: number;
  gpus: number;
  max_cost: number;
  hold: number;
  site: string | null;
  attempt: number;
  submitted_at: number;
  started_at: number | null;
  finished_at: number | null;
  position: number | null;
  queue_length: number | null;
  expected_start: number | null;
  cost: number;
  bill: Bill | null;
  progress: { done: number; total: number } | null;
  error: string | null;
  /** The notebook the job came from (a server-relative path), when known. */
  notebook?: string | null;
  /** The id of the cell the job came from, when known. */
  cell?: string | null;
}

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

export interface Account {
  name: string;
  tier: string;
  role: string;
  shares: number;
  credits: number;
  held: number;
  balance: number;
  usage: number;
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

export const EVENT_TYPES = [
  'queued',
  'started',
  'output',
  'progress',
  'cost',
  'requeued',
  'done',
  'failed',
  'cancelled'
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

/** One job event as the events stream carries it: its type and its JSON data. */
export interface JobEvent {
  type: EventType;
  data: { job: string } & Record<string, unknown>;
}
