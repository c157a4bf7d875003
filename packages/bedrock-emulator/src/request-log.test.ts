import { describe, expect, it } from "vitest";
import { createRequestLog, type RequestRecord } from "./request-log.ts";

const record = (id: string): RequestRecord => ({
  id,
  operation: "Converse",
  modelId: "m",
  httpVersion: "2",
  auth: "sigv4",
  startedAt: 0,
});

describe("request log", () => {
  it("keeps the most recent records up to its capacity, oldest first", () => {
    const log = createRequestLog({ capacity: 2 });
    for (const id of ["a", "b", "c"]) log.start(record(id));
    expect(log.list().map((r) => r.id)).toEqual(["b", "c"]);
  });

  it("hands out copies", () => {
    const log = createRequestLog();
    log.start(record("a"));
    const [copy] = log.list();
    if (copy) copy.modelId = "changed";
    expect(log.list()[0]?.modelId).toBe("m");
  });

  it("records the first end only", () => {
    const log = createRequestLog({ now: () => 7 });
    const r = log.start(record("a"));
    log.finish(r, { outcome: "aborted" });
    log.finish(r, { outcome: "completed", status: 200 });
    expect(log.list()[0]).toMatchObject({ outcome: "aborted", endedAt: 7 });
  });

  it("resolves waiters with already finished records", async () => {
    const log = createRequestLog();
    log.finish(log.start(record("a")), { outcome: "completed", status: 200 });
    await expect(log.waitFor((r) => r.id === "a", 100)).resolves.toMatchObject({ id: "a" });
  });

  it("resolves waiters when a matching record finishes later, ignoring unfinished ones", async () => {
    const log = createRequestLog();
    const r = log.start(record("a"));
    const waiting = log.waitFor((x) => x.id === "a", 1000);
    setTimeout(
      () => log.finish(r, { outcome: "error", status: 429, errorType: "ThrottlingException" }),
      5,
    );
    await expect(waiting).resolves.toMatchObject({
      outcome: "error",
      errorType: "ThrottlingException",
    });
  });

  it("rejects waiters on timeout and on close", async () => {
    const log = createRequestLog();
    await expect(log.waitFor(() => true, 10)).rejects.toThrow(/within 10 ms/);
    const pending = log.waitFor(() => true, 1000);
    log.close();
    await expect(pending).rejects.toThrow(/closed/);
  });

  it("clears records", () => {
    const log = createRequestLog();
    log.start(record("a"));
    log.clear();
    expect(log.list()).toEqual([]);
  });
});
