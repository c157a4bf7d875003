/**
 * The lifetime of one Bedrock call: an AbortSignal that follows the RPC's `ctx.signal` (client
 * cancelled, gRPC deadline) and a resettable timer (first byte, then stream idleness), so that
 * every way a call can end early goes through the one signal passed to the SDK.
 */
export interface UpstreamCall {
  /** Pass to `client.send(cmd, { abortSignal })` and to {@link UpstreamCall.race}. */
  readonly signal: AbortSignal;
  /** Whether the call was aborted by its timer (as opposed to by the client). */
  readonly timedOut: boolean;
  /** (Re)starts the timer: the call is aborted if it is not disarmed within `ms`. */
  arm(ms: number): void;
  disarm(): void;
  /** Aborts the call (the answer is no longer wanted). */
  cancel(): void;
  /**
   * Settles with `promise`, or rejects with the abort reason as soon as the call is aborted even
   * if the SDK has not noticed yet (a pending stream read, credential resolution).
   */
  race<T>(promise: Promise<T>): Promise<T>;
  /** Stops the timer and detaches from the parent signal. */
  dispose(): void;
}

/** The abort reason of a call whose timer fired. */
export class UpstreamTimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer from Bedrock within ${ms} ms`);
    this.name = "UpstreamTimeoutError";
  }
}

/** Starts tracking a call that must end when `parent` aborts. */
export function createUpstreamCall(parent: AbortSignal): UpstreamCall {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const onParentAbort = () => controller.abort(parent.reason);
  if (parent.aborted) onParentAbort();
  else parent.addEventListener("abort", onParentAbort, { once: true });
  const disarm = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    arm(ms) {
      disarm();
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new UpstreamTimeoutError(ms));
      }, ms);
    },
    disarm,
    cancel: () => controller.abort(),
    race<T>(promise: Promise<T>): Promise<T> {
      const signal = controller.signal;
      if (signal.aborted) {
        promise.catch(() => {});
        return Promise.reject(signal.reason);
      }
      return new Promise<T>((resolve, reject) => {
        const onAbort = () => reject(signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
        promise.then(
          (value) => {
            signal.removeEventListener("abort", onAbort);
            resolve(value);
          },
          (error: unknown) => {
            signal.removeEventListener("abort", onAbort);
            reject(error);
          },
        );
      });
    },
    dispose() {
      disarm();
      parent.removeEventListener("abort", onParentAbort);
    },
  };
}
