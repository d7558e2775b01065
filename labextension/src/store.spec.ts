import { ApiError } from './apierror';
import { EventHandlers } from './events';
import { FairshareApi, FairshareStore } from './store';
import { ACCOUNT, makeJob, POOL, READY, WHY } from './testing/fixtures';
import { Job, Status } from './types';

function fakeApi(overrides: Partial<FairshareApi> = {}): jest.Mocked<FairshareApi> {
  return {
    status: jest.fn(async () => READY),
    pool: jest.fn(async () => POOL),
    account: jest.fn(async () => ACCOUNT),
    jobs: jest.fn(async () => [makeJob()]),
    why: jest.fn(async () => WHY),
    cancel: jest.fn(async (id: string) => makeJob({ id, state: 'cancelled' })),
    ...overrides
  } as jest.Mocked<FairshareApi>;
}

const TIMINGS = { debounceMs: 100, safetyMs: 30_000, startingMs: 2_000 };

function setup(api: jest.Mocked<FairshareApi>) {
  let handlers: EventHandlers | null = null;
  const close = jest.fn();
  const store = new FairshareStore(
    api,
    h => {
      handlers = h;
      return { close };
    },
    TIMINGS
  );
  return { store, close, events: () => handlers as unknown as EventHandlers };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await Promise.resolve();
  }
}

describe('FairshareStore', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('loads status, pool, account and jobs when the pool is ready', async () => {
    const api = fakeApi();
    const { store } = setup(api);
    await store.refresh();
    expect(store.state).toMatchObject({ status: READY, pool: POOL, account: ACCOUNT });
    expect(store.state.jobs).toHaveLength(1);
  });

  it('fetches nothing else while the pool is unreachable, and says why', async () => {
    const down: Status = { ...READY, state: 'unreachable', message: 'No pool at http://x.' };
    const api = fakeApi({ status: jest.fn(async () => down) });
    const { store } = setup(api);
    await store.refresh();
    expect(store.state.status).toEqual(down);
    expect(api.jobs).not.toHaveBeenCalled();
  });

  it('re-checks the status while the pool is starting', async () => {
    const starting: Status = { ...READY, state: 'starting' };
    const api = fakeApi({
      status: jest.fn().mockResolvedValueOnce(starting).mockResolvedValue(READY)
    });
    const { store } = setup(api);
    await store.refresh();
    expect(api.jobs).not.toHaveBeenCalled();
    jest.advanceTimersByTime(2_000);
    await settle();
    expect(api.status).toHaveBeenCalledTimes(2);
    await settle();
    expect(api.jobs).toHaveBeenCalled();
  });

  it('keeps the sentence when the server extension does not answer', async () => {
    const api = fakeApi({
      status: jest.fn(async () => {
        throw new ApiError('The fair-share server extension is not running.', 404);
      })
    });
    const { store } = setup(api);
    await store.refresh();
    expect(store.state.statusError).toBe('The fair-share server extension is not running.');
  });

  it('marks the pool down when a fetch says the pool went away', async () => {
    const api = fakeApi({
      jobs: jest.fn(async (): Promise<Job[]> => {
        throw new ApiError('The pool stopped answering: start it again.', 503, 'unreachable');
      })
    });
    const { store } = setup(api);
    await store.refresh();
    expect(store.state.jobsError).toBe('The pool stopped answering: start it again.');
    expect(store.state.status?.state).toBe('unreachable');
  });

  it('applies an event in place, then re-fetches the jobs once, debounced', async () => {
    const api = fakeApi();
    const { store, events } = setup(api);
    store.start();
    await settle();
    api.jobs.mockClear();
    api.account.mockClear();
    api.pool.mockClear();

    events().onEvent({ type: 'cost', data: { job: 'j1', cost: 0.3 } });
    events().onEvent({ type: 'started', data: { job: 'j1', site: 'uni' } });
    expect(store.state.jobs?.[0]).toMatchObject({ state: 'running', cost: 0.3, site: 'uni' });
    expect(api.jobs).not.toHaveBeenCalled();

    jest.advanceTimersByTime(100);
    await settle();
    expect(api.jobs).toHaveBeenCalledTimes(1);
    expect(api.account).toHaveBeenCalledTimes(1);
    expect(api.pool).toHaveBeenCalledTimes(1); // a start changes the sites' free CPUs
    store.dispose();
  });

  it('does not re-fetch for output, nor the account for a cost event', async () => {
    const api = fakeApi();
    const { store } = setup(api);
    await store.refresh();
    api.jobs.mockClear();
    api.account.mockClear();
    store.handleEvent({ type: 'output', data: { job: 'j1', text: 'hi' } });
    jest.advanceTimersByTime(500);
    expect(api.jobs).not.toHaveBeenCalled();
    store.handleEvent({ type: 'cost', data: { job: 'j1', cost: 0.1 } });
    jest.advanceTimersByTime(100);
    await settle();
    expect(api.jobs).toHaveBeenCalledTimes(1);
    expect(api.account).not.toHaveBeenCalled();
  });

  it('refreshes every 30 s at most as a safety net, and on reconnect', async () => {
    const api = fakeApi();
    const { store, events } = setup(api);
    store.start();
    await settle();
    expect(api.status).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(29_999);
    expect(api.status).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(1);
    expect(api.status).toHaveBeenCalledTimes(2);
    events().onOpen();
    expect(api.status).toHaveBeenCalledTimes(3);
    store.dispose();
  });

  it('shows a cancelled job at once', async () => {
    const api = fakeApi();
    const { store } = setup(api);
    await store.refresh();
    await store.cancel('j1');
    expect(api.cancel).toHaveBeenCalledWith('j1');
    expect(store.state.jobs?.[0].state).toBe('cancelled');
  });

  it('lists the active jobs for the cancel command', async () => {
    const api = fakeApi({
      jobs: jest.fn(async () => [
        makeJob({ id: 'a', state: 'running' }),
        makeJob({ id: 'b', state: 'done' })
      ])
    });
    const { store } = setup(api);
    await store.refresh();
    expect(store.activeJobs.map(job => job.id)).toEqual(['a']);
  });

  it('tells subscribers, and stops everything on dispose', async () => {
    const api = fakeApi();
    const { store, close } = setup(api);
    const listener = jest.fn();
    store.subscribe(listener);
    store.start();
    await settle();
    expect(listener).toHaveBeenCalled();
    store.dispose();
    expect(close).toHaveBeenCalled();
    api.status.mockClear();
    jest.advanceTimersByTime(60_000);
    expect(api.status).not.toHaveBeenCalled();
  });
});
