/**
 * What went wrong with this machine's node, in words for the person at the node panel: what
 * happened and what to do. The main process answers with stable codes and messages meant for
 * programs and logs (an `IpcResult`'s error, `NodeStatus.error`, a peer's `lastError`); this is
 * the one place where they become sentences. Elements that show one keep its code in
 * `data-code`, for programs and tests.
 */

/** A failed call's or a failed start's error, as the IPC contract carries it. */
export interface NodeProblem {
  code: string
  message: string
}

/** What the panel asked of the node, when a call fails. */
export type NodeOperation =
  'status' | 'start' | 'stop' | 'configure' | 'add-peer' | 'remove-peer' | 'invite' | 'join-mesh'

const TRY_AGAIN = 'Try again; if it keeps happening, restart the app.'

const PORT_RULE = 'Ports are whole numbers from 0 to 65535 (0 picks a free one).'

const BAD_INVITE =
  'That is not a whole invite code. Copy it again from the other machine’s node panel, from “palaver1:” to its end.'

/** The settings a refused `node:configure` names (`argument 0.<setting>: …`), in plain words. */
const SETTING_RULES = new Map<string, string>([
  ['name', 'Give the node a name of 1 to 64 characters.'],
  [
    'host',
    'Host must be an address of this machine: 0.0.0.0 lets others on the network in, 127.0.0.1 only this machine.',
  ],
  ['port', PORT_RULE],
  ['peerPort', PORT_RULE],
  ['mesh', 'A mesh name is 1 to 64 letters, digits, dots, dashes or underscores, without spaces.'],
  ['secret', 'The mesh secret can be at most 1024 characters long.'],
  ['token', 'The access token can be at most 1024 characters long.'],
])

/** The number after "port" in a message, if any: the port a start could not use. */
function portIn(message: string): string {
  return /\bport (\d{1,5})\b/.exec(message)?.[1] ?? 'the chosen port'
}

/** A failed node operation (an IPC error or the node's start error) as a sentence for people. */
export function describeNodeProblem(problem: NodeProblem, operation: NodeOperation): string {
  switch (problem.code) {
    case 'bad_request':
      if (operation === 'join-mesh') return BAD_INVITE
      if (operation === 'add-peer' || operation === 'remove-peer')
        return 'That is not a peer address. Write the other node’s host and peer port, like 192.168.1.20:9080.'
      if (operation === 'configure') {
        const setting = /^argument 0\.(\w+)/.exec(problem.message)?.[1] ?? ''
        return (
          SETTING_RULES.get(setting) ?? 'Some settings are not valid. Check them and save again.'
        )
      }
      return `The app could not do that. ${TRY_AGAIN}`
    case 'exists':
      return 'That node is already one of the peers.'
    case 'not_found':
      return 'That peer was already removed.'
    case 'forbidden':
      return 'Only this app’s own window can change its node.'
    case 'port_in_use':
      return `Port ${portIn(problem.message)} is already used by another program. Choose another client or peer port in the settings below, then save.`
    case 'port_denied':
      return `This system does not let the node use port ${portIn(problem.message)}. Choose a port above 1023 in the settings below, then save.`
    case 'bad_host':
      return 'The Host setting is not an address of this machine. Use 0.0.0.0 to let others on the network in, or 127.0.0.1 for this machine only.'
    case 'token_needs_secret':
      return 'An access token needs a mesh secret too: without one, anyone who reaches this node’s peer port could read every room. Set a mesh secret, or clear the token.'
    case 'no_secret':
      return 'This mesh has no secret, so any node can join it without an invite. Set a mesh secret in the settings below to invite machines.'
    case 'no_peer_port':
      return 'Start the node first: it picks its peer port when it starts.'
    case 'bad_invite':
      return BAD_INVITE
    case 'own_invite':
      return 'That is this machine’s own invite. Paste it into the node panel of another machine.'
    case 'start_failed':
      return `The node could not start. ${TRY_AGAIN}`
    default:
      return `Something went wrong in the app. ${TRY_AGAIN}`
  }
}
