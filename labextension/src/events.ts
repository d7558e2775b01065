/**
 * The live stream of this account's job events (server-sent events relayed by the
 * server extension). The browser's EventSource reconnects by itself; on every (re)open
 * the store re-fetches, so nothing missed while disconnected stays missing.
 */

import { parseEvent } from './reducer';
import { EVENT_TYPES, JobEvent } from './types';

export interface EventHandlers {
  onEvent(event: JobEvent): void;
  /** The stream (re)connected. */
  onOpen(): void;
  /** The server extension lost the pool mid-stream. */
  onUnavailable(message: string): void;
}

export interface EventStream {
  close(): void;
}

/** Just what is used of an EventSource, so tests can hand in a fake one. */
export interface EventSourceLike {
  onopen: ((this: EventSource, ev: Event) => unknown) | null;
  addEventListener(type: string, listener: (event: MessageEvent) => void): void;
  close(): void;
}

export type EventSourceFactory = (url: string) => EventSourceLike;

/** The stream's URL under the server's base URL, with the token when the page has one. */
export function eventsUrl(baseUrl: string, token: string): string {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const url = `${base}fairshare/api/events`;
  return token ? `${url}?token=${encodeURIComponent(token)}` : url;
}

export function connectEvents(
  url: string,
  handlers: EventHandlers,
  factory: EventSourceFactory = u => new EventSource(u, { withCredentials: true })
): EventStream {
  const source = factory(url);
  source.onopen = () => handlers.onOpen();
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, message => {
      const event = parseEvent(type, String(message.data));
      if (event) {
        handlers.onEvent(event);
      }
    });
  }
  source.addEventListener('unavailable', message => {
    let text = 'The pool stopped answering.';
    try {
      const data = JSON.parse(String(message.data)) as { message?: unknown };
      if (typeof data.message === 'string') {
        text = data.message;
      }
    } catch {
      // Keep the generic sentence: the status re-fetch brings the precise one.
    }
    handlers.onUnavailable(text);
  });
  return { close: () => source.close() };
}
