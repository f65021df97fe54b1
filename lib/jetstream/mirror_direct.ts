/**
 * `mirror_direct`: a mirror that has copied from its origin answers the
 * origin's direct gets too. It joins the origin's `_sys_` queue group on
 * `$JS.API.DIRECT.GET.<origin>` and `.<origin>.>` and answers from its own
 * store, naming itself in `Nats-Stream` (as nats-server 2.9 does).
 *
 * @module
 */
import {
  DIRECT_GROUP,
  directGet,
  directGetLast,
  directSubjects,
  type MsgApiHost,
} from "./api_msg.ts";
import type { InternalClient } from "./internal.ts";
import type { Stream } from "./stream.ts";

export class MirrorDirectGets {
  readonly #sids = new Map<Stream, string[]>();
  readonly #client: InternalClient;
  readonly #streams: Map<string, Stream>;
  readonly #host: MsgApiHost;

  constructor(client: InternalClient, streams: Map<string, Stream>, host: MsgApiHost) {
    this.#client = client;
    this.#streams = streams;
    this.#host = host;
  }

  /** Joins the origin's direct-get group, once, while `mirror` is the live stream of its name. */
  subscribe(mirror: Stream): void {
    const cfg = mirror.config;
    if (!cfg.mirror || !cfg.mirror_direct || this.#sids.has(mirror)) return;
    if (this.#streams.get(cfg.name) !== mirror) return;
    const [byBody, bySubject] = directSubjects(cfg.mirror.name);
    const live = () => this.#streams.get(cfg.name) === mirror;
    this.#sids.set(mirror, [
      this.#client.subscribe(
        byBody,
        (m) => live() && directGet(this.#host, mirror, m),
        DIRECT_GROUP,
      ),
      this.#client.subscribe(
        bySubject,
        (m) => live() && directGetLast(this.#host, mirror, m),
        DIRECT_GROUP,
      ),
    ]);
  }

  unsubscribe(mirror: Stream): void {
    for (const sid of this.#sids.get(mirror) ?? []) this.#client.unsubscribe(sid);
    this.#sids.delete(mirror);
  }
}
