import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import type { Logger } from "@strata/platform";
import { type AuthService, type SecurityEvent, SecurityEventSchema } from "@strata/proto";
import { Counter, type Registry } from "prom-client";

/** A security event as the gateway reports it (see strata.auth.v1.SecurityEvent). */
export type SecurityEventInit = Parameters<typeof create<typeof SecurityEventSchema>>[1];

/** Sends security events (blocked tool calls, credentials in prompts) to the audit log. */
export interface SecurityEventReporter {
  report(event: SecurityEventInit): void;
  drain(deadlineMs: number): Promise<void>;
}

/** Options of createSecurityEventReporter. */
export interface SecurityEventReporterOptions {
  auth: Client<typeof AuthService>;
  logger: Logger;
  registry: Registry;
  timeoutMs: number;
  maxPending?: number;
}

/**
 * Batches security events to auth's RecordEvents off the response path, counting every event by
 * action (`strata_gateway_security_events_total{tenant,action}`) whether or not auth is reachable;
 * events that cannot be delivered are logged (without content) and counted as lost.
 */
export function createSecurityEventReporter({
  auth,
  logger,
  registry,
  timeoutMs,
  maxPending = 10_000,
}: SecurityEventReporterOptions): SecurityEventReporter {
  let queue: SecurityEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> | undefined;
  const events = new Counter({
    name: "strata_gateway_security_events_total",
    help: "Security events by tenant and action (tool_call.blocked, tool.refused, secret.blocked, secret.redacted, source.denied).",
    labelNames: ["tenant", "action"],
    registers: [registry],
  });
  const lost = new Counter({
    name: "strata_gateway_security_events_lost_total",
    help: "Security events that could not be written to the audit log.",
    registers: [registry],
  });

  const send = async () => {
    const batch = queue;
    queue = [];
    if (batch.length === 0) return;
    try {
      await auth.recordEvents({ events: batch }, { timeoutMs });
    } catch (err) {
      lost.inc(batch.length);
      logger.error({ err, events: batch.length }, "security events could not be audited");
    }
  };
  const flush = () => {
    timer = undefined;
    sending = send().finally(() => {
      sending = undefined;
    });
  };

  return {
    report(init) {
      const event = create(SecurityEventSchema, init);
      events.inc({ tenant: event.principal?.tenantId ?? "", action: event.action });
      logger.warn(
        {
          requestId: event.requestId,
          tenantId: event.principal?.tenantId,
          action: event.action,
          target: event.target,
        },
        "security event",
      );
      if (queue.length >= maxPending) {
        lost.inc();
        return;
      }
      queue.push(event);
      timer ??= setTimeout(flush, 20);
    },
    async drain(deadlineMs) {
      if (timer) {
        clearTimeout(timer);
        flush();
      }
      const deadline = new Promise((r) => setTimeout(r, deadlineMs).unref());
      await Promise.race([sending, deadline]);
    },
  };
}
