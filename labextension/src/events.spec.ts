import { connectEvents, EventSourceLike, eventsUrl } from './events';

class FakeSource implements EventSourceLike {
  onopen: EventSourceLike['onopen'] = null;
  listeners = new Map<string, (event: MessageEvent) => void>();
  closed = false;
  constructor(readonly url: string) {}
  addEventListener(type: string, listener: (event: MessageEvent) => void): void {
    this.listeners.set(type, listener);
  }
  close(): void {
    this.closed = true;
  }
  emit(type: string, data: string): void {
    this.listeners.get(type)?.({ data } as MessageEvent);
  }
}

describe('eventsUrl', () => {
  it('is under the base URL, with the token only when there is one', () => {
    expect(eventsUrl('/user/ada/', '')).toBe('/user/ada/fairshare/api/events');
    expect(eventsUrl('http://h:8888', 'a b')).toBe('http://h:8888/fairshare/api/events?token=a%20b');
  });
});

describe('connectEvents', () => {
  it('hands job events, reconnects and pool losses to the handlers', () => {
    let source: FakeSource | null = null;
    const handlers = { onEvent: jest.fn(), onOpen: jest.fn(), onUnavailable: jest.fn() };
    const stream = connectEvents('/fairshare/api/events', handlers, url => (source = new FakeSource(url)));
    const fake = source as unknown as FakeSource;

    fake.onopen?.call({} as EventSource, {} as Event);
    expect(handlers.onOpen).toHaveBeenCalled();

    fake.emit('queued', '{"job":"j1","position":2}');
    expect(handlers.onEvent).toHaveBeenCalledWith({ type: 'queued', data: { job: 'j1', position: 2 } });

    fake.emit('cost', 'garbage');
    expect(handlers.onEvent).toHaveBeenCalledTimes(1);

    fake.emit('unavailable', '{"message":"The pool stopped.","state":"unreachable"}');
    expect(handlers.onUnavailable).toHaveBeenCalledWith('The pool stopped.');

    stream.close();
    expect(fake.closed).toBe(true);
  });
});
