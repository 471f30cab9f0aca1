import './RoomStart.css'

/**
 * Above a room's first message: the room's very beginning. Like every row of the message list it
 * holds text only (no images or SVG), so anything of that kind in the list would be out of place.
 */
export function RoomStart({ room }: { room: string }) {
  return (
    <div className="room-start">
      <span className="room-start__icon" aria-hidden="true">
        #
      </span>
      <p className="room-start__title">Welcome to #{room}</p>
      <p className="room-start__text">This is the start of the room. Say hello!</p>
    </div>
  )
}
