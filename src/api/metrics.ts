import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { GraphStats } from "../engine/worker-pool.ts";
import type { CacheStats } from "../core/cache-stats.ts";
import type { RunInfo } from "../engine/engine.ts";

// Prometheus metrics of one app instance. Each instance has its own registry,
// so several servers in one process (tests) do not share or clash.

export interface MetricsOptions {
  /** the file cache's counters, read at each scrape */
  cacheStats?: () => CacheStats;
  /** process metrics (CPU, memory, event loop lag, GC) */
  defaultMetrics?: boolean;
  /** the inference workers' compiled graphs, read at each scrape */
  graphStats?: () => GraphStats;
}

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const LOAD_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class Metrics {
  readonly registry = new Registry();
  private requestDuration: Histogram<"method" | "route" | "status">;
  private requests: Counter<"method" | "route" | "status">;
  private tokens: Counter;
  private batchRows: Histogram;
  private runDuration: Histogram;
  private loadDuration: Histogram<"kind">;

  constructor(opts: MetricsOptions = {}) {
    const registers = [this.registry];
    this.requestDuration = new Histogram({
      name: "polyhead_http_request_duration_seconds",
      help: "HTTP request duration by route pattern, method and status",
      labelNames: ["method", "route", "status"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.requests = new Counter({
      name: "polyhead_http_requests_total",
      help: "HTTP requests by route pattern, method and status",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.tokens = new Counter({ name: "polyhead_tokens_total", help: "Real (non-padding) tokens run through the encoder", registers });
    this.batchRows = new Histogram({
      name: "polyhead_batch_rows",
      help: "Rows per encoder run",
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    });
    this.runDuration = new Histogram({
      name: "polyhead_encoder_run_duration_seconds",
      help: "Duration of one encoder run (worker round trip)",
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.loadDuration = new Histogram({
      name: "polyhead_load_duration_seconds",
      help: "Time to read and validate a model, adapter or fusion from the store",
      labelNames: ["kind"],
      buckets: LOAD_BUCKETS,
      registers,
    });
    const stats = opts.cacheStats;
    if (stats) {
      const gauge = (name: string, help: string, pick: (s: CacheStats) => number) =>
        new Gauge({
          name,
          help,
          registers,
          collect() {
            this.set(pick(stats()));
          },
        });
      gauge("polyhead_cache_hits", "Store file cache hits since start", (s) => s.hits);
      gauge("polyhead_cache_misses", "Store file cache misses since start", (s) => s.misses);
      gauge("polyhead_cache_bytes", "Bytes held by the store file cache", (s) => s.bytes);
      gauge("polyhead_cache_entries", "Files held by the store file cache", (s) => s.entries);
    }
    const graphs = opts.graphStats;
    if (graphs) {
      const gauge = (name: string, help: string, pick: (s: GraphStats) => number) =>
        new Gauge({ name, help, registers, collect() { this.set(pick(graphs())); } });
      gauge("polyhead_graphs_loaded", "Compiled graphs held by the inference workers", (s) => s.graphs);
      gauge("polyhead_graph_bytes", "ONNX bytes of the compiled graphs held", (s) => s.bytes);
      gauge("polyhead_graph_evictions", "Compiled graphs released since start to stay within --max-graphs / --max-graph-bytes", (s) => s.evictions);
      gauge("polyhead_hot_graphs", "Compiled graphs that also hold a prepacked session of their own (--hot-graphs)", (s) => s.hot);
      gauge("polyhead_graph_promotions", "Graphs given a prepacked session since start (--hot-graphs)", (s) => s.promotions);
    }
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.requestDuration.observe(labels, seconds);
    this.requests.inc(labels);
  }

  observeRun(info: RunInfo): void {
    this.tokens.inc(info.tokens);
    this.batchRows.observe(info.rows);
    this.runDuration.observe(info.ms / 1000);
  }

  observeLoad(kind: string, ms: number): void {
    this.loadDuration.observe({ kind }, ms / 1000);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
