import { Counter, type Registry } from 'prom-client';

/** What the relay holds per session: adding to it is a plain addition. */
export interface CounterHandle {
  inc(amount: number): void;
}

/**
 * A Prometheus counter with one label whose increments on the relay's hot
 * path cost a plain addition: prom-client hashes and validates the label
 * set on every `inc`, which a proxy pays per chunk relayed. Each label
 * value's handle keeps a running total that is moved into the prom-client
 * counter when the registry is read (its `collect`), so the exported
 * series are the same.
 *
 * @example
 * const sent = new BatchedCounter({ name: 'bytes_sent_total', help: '...', labelName: 'dialect', registers: [registry] });
 * const handle = sent.labels('postgres'); // once per session
 * handle.inc(chunk.length);               // per chunk
 */
export class BatchedCounter {
  private readonly pending = new Map<string, { total: number; inc(amount: number): void }>();
  private readonly counter: Counter<string>;

  constructor(config: { name: string; help: string; labelName: string; registers: Registry[] }) {
    const pending = this.pending;
    const labelName = config.labelName;
    this.counter = new Counter({
      name: config.name,
      help: config.help,
      labelNames: [labelName],
      registers: config.registers,
      collect() {
        for (const [value, handle] of pending) {
          if (handle.total === 0) continue;
          this.inc({ [labelName]: value }, handle.total);
          handle.total = 0;
        }
      },
    });
  }

  labels(value: string): CounterHandle {
    let handle = this.pending.get(value);
    if (!handle) {
      handle = {
        total: 0,
        inc(amount: number) {
          this.total += amount;
        },
      };
      this.pending.set(value, handle);
    }
    return handle;
  }

  /** The series as prom-client reports them (pending totals included). */
  get(): ReturnType<Counter<string>['get']> {
    return this.counter.get();
  }
}
