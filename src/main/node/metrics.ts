/**
 * The node's Prometheus metrics, on a registry of its own so that several nodes in one process
 * (tests, the desktop app restarting its node) never share counters.
 */
import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/**
 * Where an unexpected error was contained (the label of `palaver_internal_errors_total`): a
 * chat session, a peer link, a timer, or an HTTP request or upgrade on the client port.
 */
export const INTERNAL_ERROR_SCOPES = ['session', 'link', 'timer', 'http'] as const
export type InternalErrorScope = (typeof INTERNAL_ERROR_SCOPES)[number]

export class NodeMetrics {
  readonly registry = new Registry()
  readonly clients: Gauge
  readonly accepted: Counter<'source'>
  readonly delivered: Counter
  readonly commitSeconds: Histogram
  readonly meshEventsSent: Counter<'peer'>
  readonly meshFramesSent: Counter
  readonly meshUnknownFrames: Counter
  readonly meshRefused: Counter<'what'>
  readonly linksUp: Gauge
  readonly meshTreeFramesSent: Counter<'type'>
  readonly lazyRoutes: Gauge
  readonly passiveView: Gauge
  readonly internalErrors: Counter<'scope'>
  readonly earlyEvents: Gauge
  readonly earlyEventBytes: Gauge
  readonly directoryRecords: Gauge
  readonly #loopDelay: ELDHistogram = monitorEventLoopDelay({ resolution: 10 })

  constructor() {
    const registers = [this.registry]
    this.clients = new Gauge({
      name: 'palaver_clients_connected',
      help: 'Chat sessions open on this node',
      registers,
    })
    this.accepted = new Counter({
      name: 'palaver_messages_accepted_total',
      help: 'Messages stored by this node, by where they came from (client or peer)',
      labelNames: ['source'],
      registers,
    })
    // Both series exist from the start, so a scrape shows 0 rather than nothing.
    for (const source of ['client', 'peer']) this.accepted.inc({ source }, 0)
    this.delivered = new Counter({
      name: 'palaver_messages_delivered_total',
      help: 'Message frames sent to chat sessions',
      registers,
    })
    this.commitSeconds = new Histogram({
      name: 'palaver_store_commit_seconds',
      help: 'Time to commit one group of events to disk',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    })
    this.meshEventsSent = new Counter({
      name: 'palaver_mesh_events_sent_total',
      help: 'Event frames written to peer links (forwarded or streamed), by the peer they went to',
      labelNames: ['peer'],
      registers,
    })
    this.meshFramesSent = new Counter({
      name: 'palaver_mesh_frames_sent_total',
      help: 'Frames of every type written to peer links (handshake, events, presence, liveness)',
      registers,
    })
    this.meshUnknownFrames = new Counter({
      name: 'palaver_mesh_unknown_frames_total',
      help: 'Frames of a type this node does not know, received on authenticated peer links and dropped',
      registers,
    })
    this.meshRefused = new Counter({
      name: 'palaver_mesh_refused_total',
      help: 'Events, presence, typing frames and node records from peers whose signatures did not hold, dropped, by what they were',
      labelNames: ['what'],
      registers,
    })
    this.linksUp = new Gauge({
      name: 'palaver_mesh_links_up',
      help: 'Authenticated peer links',
      registers,
    })
    this.meshTreeFramesSent = new Counter({
      name: 'palaver_mesh_tree_frames_sent_total',
      help: 'Frames of the dissemination tree written to peer links, by type (ihave, graft, prune)',
      labelNames: ['type'],
      registers,
    })
    for (const type of ['ihave', 'graft', 'prune']) this.meshTreeFramesSent.inc({ type }, 0)
    this.lazyRoutes = new Gauge({
      name: 'palaver_mesh_lazy_routes',
      help: 'Pairs of a peer link and an origin whose events are announced on it (ihave) rather than pushed',
      registers,
    })
    this.passiveView = new Gauge({
      name: 'palaver_mesh_passive_view',
      help: 'Known nodes this node is not linked to, kept to replace a lost link',
      registers,
    })
    this.internalErrors = new Counter({
      name: 'palaver_internal_errors_total',
      help: 'Unexpected errors contained by closing what they happened in: a session, a link, a timer or an HTTP request',
      labelNames: ['scope'],
      registers,
    })
    for (const scope of INTERNAL_ERROR_SCOPES) this.internalErrors.inc({ scope }, 0)
    this.earlyEvents = new Gauge({
      name: 'palaver_mesh_early_events',
      help: 'Events from peers kept aside until the hole below them is filled',
      registers,
    })
    this.earlyEventBytes = new Gauge({
      name: 'palaver_mesh_early_event_bytes',
      help: 'Estimated memory held by the early events kept aside',
      registers,
    })
    this.directoryRecords = new Gauge({
      name: 'palaver_mesh_directory_records',
      help: 'Records of other nodes this node keeps (at most 1,000)',
      registers,
    })
    const loopDelay = this.#loopDelay
    new Gauge({
      name: 'palaver_event_loop_lag_seconds',
      help: 'Event-loop delay since the last scrape (p99)',
      registers,
      collect() {
        this.set(loopDelay.count > 0 ? loopDelay.percentile(99) / 1e9 : 0)
        loopDelay.reset()
      },
    })
    new Gauge({
      name: 'palaver_resident_memory_bytes',
      help: 'Resident set size of the process',
      registers,
      collect() {
        this.set(process.memoryUsage.rss())
      },
    })
  }

  start(): void {
    this.#loopDelay.enable()
  }

  stop(): void {
    this.#loopDelay.disable()
  }

  text(): Promise<string> {
    return this.registry.metrics()
  }
}
