/**
 * The consumers of one account's streams: each one's subscriptions (pull
 * requests, acks, flow-control answers) and, for durable consumers of file
 * streams, saving their state once per batch of requests and acks.
 *
 * @module
 */
import type { Consumer } from "./consumer.ts";
import type { InternalClient } from "./internal.ts";
import type { Stream } from "./stream.ts";

export class ConsumerRegistry {
  /** Stream name -> consumer name -> consumer. */
  readonly byStream = new Map<string, Map<string, Consumer>>();
  readonly #sids = new Map<Consumer, string[]>();
  readonly #client: InternalClient;
  readonly #streams: Map<string, Stream>;
  readonly #saveFailed: (c: Consumer, e: Error) => void;

  constructor(
    client: InternalClient,
    streams: Map<string, Stream>,
    saveFailed: (c: Consumer, e: Error) => void,
  ) {
    this.#client = client;
    this.#streams = streams;
    this.#saveFailed = saveFailed;
  }

  /** Registers a consumer: its pull and ack subscriptions, and saving for durable file ones. */
  attach(c: Consumer): void {
    const stream = c.stream;
    let byName = this.byStream.get(stream.config.name);
    if (!byName) this.byStream.set(stream.config.name, byName = new Map());
    byName.set(c.name, c);
    const prefix = `${stream.config.name}.${c.name}`;
    this.#sids.set(c, [
      this.#client.subscribe(
        `$JS.API.CONSUMER.MSG.NEXT.${prefix}`,
        (r) => r.reply !== "" && c.nextRequest(r.reply, r.data),
      ),
      this.#client.subscribe(
        `$JS.ACK.${prefix}.*.*.*.*.*`,
        (a) => c.onAck(a.subject, a.reply, a.data),
      ),
    ]);
    if (c.config.flow_control) {
      this.#sids.get(c)!.push(
        this.#client.subscribe(`$JS.FC.${prefix}.*`, (r) => c.push?.onFlowControl(r.subject)),
      );
    }
    const files = stream.files;
    if (files !== null && c.config.durable_name) {
      // Saved once per batch (see save()), not once per ack.
      c.persist = (x) => this.#changed(x);
      this.#write(c);
    }
  }

  /** Durable consumers of file streams whose state changed since it was last written. */
  readonly #dirty = new Set<Consumer>();
  #queued = false;

  #changed(c: Consumer): void {
    this.#dirty.add(c);
    if (this.#queued) return;
    // Changes made outside a batch (timers) are saved in a microtask.
    this.#queued = true;
    queueMicrotask(() => {
      this.#queued = false;
      this.save();
    });
  }

  #write(c: Consumer): void {
    c.stream.files?.writeConsumer(c.name, {
      config: c.config,
      created: c.created,
      state: c.state(),
    });
  }

  /**
   * Writes (temp file, fdatasync, rename) each durable consumer whose state
   * changed: at the end of each batch of requests and acks, before their
   * replies are written to any socket (those go out in a later microtask),
   * so the state is still saved before an ack is answered, once per batch.
   */
  save(): void {
    if (this.#dirty.size === 0) return;
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    for (const c of dirty) {
      // Deleted since (with its stream, or alone): nothing to write.
      if (this.byStream.get(c.stream.config.name)?.get(c.name) !== c) continue;
      if (this.#streams.get(c.stream.config.name) !== c.stream) continue;
      try {
        this.#write(c);
      } catch (e) {
        this.#saveFailed(c, e as Error);
      }
    }
  }

  remove(c: Consumer): void {
    this.#dirty.delete(c);
    if (c.persist !== null) c.stream.files?.removeConsumer(c.name);
    for (const sid of this.#sids.get(c) ?? []) this.#client.unsubscribe(sid);
    this.#sids.delete(c);
    this.byStream.get(c.stream.config.name)?.delete(c.name);
    c.stream.retention?.consumerDeleted(c);
    c.close();
  }
}
