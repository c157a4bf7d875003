import {
  type Attributes,
  type Context,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import { asStrataError } from "@strata/errors";

/** Options of startTracing. */
export interface TracingOptions {
  /** The service's short name; spans carry `service.name = strata-<service>`. */
  service: string;
  /** OTLP/HTTP traces endpoint (STRATA_OTLP_ENDPOINT); without it tracing is off. */
  endpoint?: string | undefined;
  /** How long finished spans wait before they are exported in a batch; default 5000 ms. */
  exportDelayMs?: number | undefined;
}

/** The running tracer of a service. */
export interface Tracing {
  readonly enabled: boolean;
  /** Exports the spans still buffered and stops; a shutdown step of runService. */
  shutdown(): Promise<void>;
}

/** A span as Strata code uses it: attributes, an error reason, an end, and a scope to run in. */
export interface TraceSpan {
  /** Adds attributes; undefined values are left out. Never user content, keys or tokens. */
  setAttributes(attributes: Record<string, string | number | boolean | undefined>): void;
  /** Renames the span (once its route or operation is known). */
  updateName(name: string): void;
  /** Marks the span failed with the Strata reason of `error` (never its message). */
  fail(error: unknown): void;
  /** Ends the span; later calls do nothing. */
  end(): void;
  /** Runs `fn` with this span active, so spans started inside become its children. */
  run<T>(fn: () => T): T;
}

/** Options of startSpan. */
export interface StartSpanOptions {
  kind: "server" | "client" | "internal";
  attributes?: Record<string, string | number | boolean | undefined>;
  /**
   * Headers of an incoming request to continue the caller's trace from (`traceparent`,
   * `tracestate`); without it the span is a child of the active span.
   */
  carrier?: Readonly<Record<string, string | string[] | undefined>>;
}

const kinds = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  internal: SpanKind.INTERNAL,
} as const;

const propagator = new W3CTraceContextPropagator();
let enabled = false;

/** Whether spans are recorded in this process (checked so that tracing off costs nothing). */
export function tracingEnabled(): boolean {
  return enabled;
}

/**
 * Starts OpenTelemetry tracing for a service: spans are batched and sent as OTLP/HTTP (JSON) to
 * `endpoint`, and context crosses process boundaries as W3C trace context
 * (https://www.w3.org/TR/trace-context/). Without an endpoint nothing is registered and every
 * span helper is a no-op. Nothing is instrumented automatically: Strata starts its spans itself
 * (HTTP requests, RPCs, Bedrock calls), which keeps the h2c transport untouched.
 */
export function startTracing({ service, endpoint, exportDelayMs }: TracingOptions): Tracing {
  if (!endpoint) return { enabled: false, shutdown: async () => {} };
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: `strata-${service}` }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: endpoint }),
        scheduledDelayMillis: exportDelayMs ?? 5_000,
      }),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  enabled = true;
  return {
    enabled: true,
    shutdown: async () => {
      await provider.shutdown();
      enabled = false;
    },
  };
}

const tracer = () => trace.getTracer("strata");

const headerGetter: TextMapGetter<Readonly<Record<string, string | string[] | undefined>>> = {
  get: (carrier, key) => carrier[key],
  keys: (carrier) => Object.keys(carrier),
};

const noopSpan: TraceSpan = {
  updateName: () => {},
  setAttributes: () => {},
  fail: () => {},
  end: () => {},
  run: (fn) => fn(),
};

function cleanAttributes(
  attributes: Record<string, string | number | boolean | undefined> | undefined,
): Attributes {
  const clean: Attributes = {};
  for (const [key, value] of Object.entries(attributes ?? {})) {
    if (value !== undefined) clean[key] = value;
  }
  return clean;
}

/** Marks `span` failed with the Strata reason of `error`; messages may hold user content. */
function failSpan(span: Span, error: unknown) {
  const reason = asStrataError(error).reason;
  span.setAttributes({ "error.type": reason, "strata.error.reason": reason });
  span.setStatus({ code: SpanStatusCode.ERROR });
}

function wrap(span: Span, active: Context): TraceSpan {
  let ended = false;
  return {
    updateName: (name) => span.updateName(name),
    setAttributes: (attributes) => span.setAttributes(cleanAttributes(attributes)),
    fail: (error) => failSpan(span, error),
    end: () => {
      if (ended) return;
      ended = true;
      span.end();
    },
    run: (fn) => context.with(active, fn),
  };
}

/**
 * Starts a span, a child of the caller's trace (`carrier`) or of the active span. Ending it is
 * the caller's job; `run` makes it the parent of spans started inside.
 */
export function startSpan(name: string, options: StartSpanOptions): TraceSpan {
  if (!enabled) return noopSpan;
  const parent = options.carrier
    ? propagator.extract(context.active(), options.carrier, headerGetter)
    : context.active();
  const span = tracer().startSpan(
    name,
    { kind: kinds[options.kind], attributes: cleanAttributes(options.attributes) },
    parent,
  );
  return wrap(span, trace.setSpan(parent, span));
}

/** Headers as Connect carries them on a call. */
type CallHeaders = Headers;

const callHeaderGetter: TextMapGetter<CallHeaders> = {
  get: (carrier, key) => carrier.get(key) ?? undefined,
  keys: (carrier) => [...carrier.keys()],
};

const callHeaderSetter: TextMapSetter<CallHeaders> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/** Starts the span of an RPC, CLIENT (injecting its context into `header`) or SERVER. */
export function startRpcSpan(
  kind: "client" | "server",
  call: { service: string; method: string; header: Headers },
): { span: Span; active: Context } {
  const parent =
    kind === "server"
      ? propagator.extract(context.active(), call.header, callHeaderGetter)
      : context.active();
  const span = tracer().startSpan(
    `${call.service}/${call.method}`,
    {
      kind: kinds[kind],
      attributes: { "rpc.system": "grpc", "rpc.service": call.service, "rpc.method": call.method },
    },
    parent,
  );
  const active = trace.setSpan(parent, span);
  if (kind === "client") propagator.inject(active, call.header, callHeaderSetter);
  return { span, active };
}

/** Ends an RPC span, failed with the Strata reason when `error` is given. */
export function endRpcSpan(span: Span, error?: unknown) {
  if (error !== undefined) failSpan(span, error);
  span.end();
}

/**
 * Reads `source` with `active` as the context of every step (a generator's body runs in the
 * context of whoever calls next), and ends `span` when the stream ends, fails or is abandoned.
 */
export async function* traceStream<T>(
  source: AsyncIterable<T>,
  span: Span,
  active: Context,
): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let done = false;
  let error: unknown;
  try {
    for (;;) {
      const next = await context.with(active, () => iterator.next());
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } catch (e) {
    done = true;
    error = e;
    throw e;
  } finally {
    try {
      if (!done) await context.with(active, async () => iterator.return?.());
    } finally {
      endRpcSpan(span, error);
    }
  }
}
