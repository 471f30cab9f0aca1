/**
 * Where each frame of an authenticated link goes. The switch is exhaustive: a frame type added to
 * the protocol does not compile until it is routed (or said to be the link's own).
 */
import type { PeerFrame, PeerFrameOf } from '../../../shared/peer-protocol.ts'
import type { PeerLink } from './link.ts'

/** The frames the link answers itself (handshake, liveness, errors) and never routes. */
type LinkFrame = 'hello' | 'auth' | 'error' | 'ping' | 'pong'

/** One handler per routed frame type. */
export type FrameHandlers = {
  [T in Exclude<PeerFrame['type'], LinkFrame>]: (link: PeerLink, frame: PeerFrameOf<T>) => void
}

export function routeFrame(handlers: FrameHandlers, link: PeerLink, frame: PeerFrame): void {
  switch (frame.type) {
    case 'sync':
      return handlers.sync(link, frame)
    case 'event':
      return handlers.event(link, frame)
    case 'want':
      return handlers.want(link, frame)
    case 'presence':
      return handlers.presence(link, frame)
    case 'typing':
      return handlers.typing(link, frame)
    case 'nodes':
      return handlers.nodes(link, frame)
    case 'ihave':
      return handlers.ihave(link, frame)
    case 'graft':
      return handlers.graft(link, frame)
    case 'prune':
      return handlers.prune(link, frame)
    case 'neighbor':
      return handlers.neighbor(link, frame)
    case 'disconnect':
      return handlers.disconnect(link, frame)
    case 'hello':
    case 'auth':
    case 'error':
    case 'ping':
    case 'pong':
      return // the link's own (link.ts): never passed on
    default:
      return unreachable(frame)
  }
}

function unreachable(frame: never): never {
  throw new Error(`frame type not routed: ${(frame as { type: string }).type}`)
}
