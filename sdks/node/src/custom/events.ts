/**
 * `client.events` with resumable subscriptions (hand-written): after a broken connection,
 * `subscribe` and `subscribeAll` re-open just after the last event received, so no event is
 * delivered twice or skipped.
 */

import type { StreamOptions, StreamPromise } from '../core/streaming.js';
import type {
  SubscribeToAllParams,
  SubscribeToAllRequest,
  SubscribeToAllResponse,
  SubscribeToStreamParams,
  SubscribeToStreamRequest,
  SubscribeToStreamResponse,
} from '../models/events.js';
import { EventsResource as GeneratedEventsResource } from '../resources/events.js';

/** The event store: streams of events, the global log, subscriptions. */
export class EventsResource extends GeneratedEventsResource {
  /** Streams a stream's events from a revision; a re-opened stream resumes after the last one. */
  override subscribe(
    stream: string,
    params: SubscribeToStreamParams = {},
    options: StreamOptions<SubscribeToStreamRequest, SubscribeToStreamResponse> = {},
  ): StreamPromise<SubscribeToStreamResponse> {
    return super.subscribe(stream, params, { resume: afterRevision, ...options });
  }

  /** Streams the global log from a position; a re-opened stream resumes after the last event. */
  override subscribeAll(
    params: SubscribeToAllParams = {},
    options: StreamOptions<SubscribeToAllRequest, SubscribeToAllResponse> = {},
  ): StreamPromise<SubscribeToAllResponse> {
    return super.subscribeAll(params, { resume: afterPosition, ...options });
  }
}

/** The request that continues a stream subscription after `message`. */
export function afterRevision(
  request: SubscribeToStreamRequest,
  message: SubscribeToStreamResponse,
): SubscribeToStreamRequest {
  const revision = message.event?.revision;
  return revision === undefined ? request : { ...request, from_revision: revision + 1 };
}

/** The request that continues a global subscription after `message`. */
export function afterPosition(
  request: SubscribeToAllRequest,
  message: SubscribeToAllResponse,
): SubscribeToAllRequest {
  const position = message.event?.position;
  return position === undefined ? request : { ...request, from_position: position + 1 };
}
