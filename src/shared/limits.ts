/**
 * The client protocol's numbers and names (docs/protocol.md), apart from its schemas so that code
 * that needs only these (the web UI) does not pull in the schema library.
 */
export const PROTOCOL_VERSION = 1
/** A client WebSocket frame larger than this closes the session with code 1009. */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024
export const MAX_TEXT_LENGTH = 4000
/** `join` without `since` sends this many of the newest messages. */
export const JOIN_BACKLOG = 50
/** `join` with `since` sends at most this many messages (the newest of them). */
export const MAX_RESUME_BACKLOG = 1000
/** A vector (`since`, `sync`) names at most this many origins. */
export const MAX_VECTOR_ORIGINS = 1024
/** A session that has not been welcomed this long after it opened is closed (CLOSE_HELLO_TIMEOUT). */
export const HELLO_TIMEOUT_MS = 10_000
export const HISTORY_DEFAULT_LIMIT = 50
export const HISTORY_MAX_LIMIT = 200
export const DEFAULT_ROOM = 'general'
/** A room name: 1-64 of [a-z0-9_-], starting with a letter or digit. */
export const ROOM_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/
export const MAX_NAME_LENGTH = 64
/** Control characters, which a user's name may not hold. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what it finds
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/
/** The desktop app's page origin: every node lets its chat sessions in (docs/protocol.md). */
export const DESKTOP_APP_ORIGIN = 'app://palaver'

/** WebSocket close codes the node uses. */
export const CLOSE_GOING_AWAY = 1001
/** The session sent no `hello` within HELLO_TIMEOUT_MS (policy violation). */
export const CLOSE_HELLO_TIMEOUT = 1008
export const CLOSE_TOO_BIG = 1009
/** The node failed while handling the session's frame: it sent `internal` and closed the session. */
export const CLOSE_INTERNAL_ERROR = 1011
/** The session could not keep up with its room's traffic; it may reconnect and resume. */
export const CLOSE_TOO_SLOW = 1013
export const CLOSE_UNAUTHORIZED = 4001
