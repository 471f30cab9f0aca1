/**
 * The desktop app's bridge to its own node (`window.palaver`, from the preload). Absent in a
 * browser tab: there the UI is only a chat client, and the node panel is not shown.
 */
import type { PalaverApi } from '../../shared/ipc.ts'

export function desktopApi(): PalaverApi | undefined {
  return (window as Window & { palaver?: PalaverApi }).palaver
}
