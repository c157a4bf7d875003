import { Code, ConnectError } from "@connectrpc/connect";

/**
 * An error as a log field: a one-line message and a code, nothing else. Kubernetes client errors
 * carry response bodies and headers in their message; those never reach a log line (a Secret's
 * request body must never be echoed anywhere, whatever went wrong).
 */
export function safeError(error: unknown): { message: string; code?: string | number } {
  if (error instanceof ConnectError) return { message: error.rawMessage, code: Code[error.code] };
  if (error && typeof error === "object") {
    const e = error as { code?: unknown; statusCode?: unknown; body?: unknown; message?: unknown };
    const body = parseBody(e.body);
    const status = kubeStatusCode(error);
    const message =
      typeof body?.message === "string"
        ? body.message
        : typeof e.message === "string"
          ? (e.message.split("\n")[0] ?? "error")
          : "error";
    return { message, ...(status !== undefined ? { code: status } : {}) };
  }
  return { message: String(error) };
}

function parseBody(body: unknown): { message?: unknown; reason?: unknown } | undefined {
  if (typeof body === "string") {
    try {
      return JSON.parse(body) as { message?: unknown };
    } catch {
      return undefined;
    }
  }
  return body && typeof body === "object" ? (body as { message?: unknown }) : undefined;
}

/** The HTTP status of a failed Kubernetes API call, if that is what the error is. */
export function kubeStatusCode(error: unknown): number | undefined {
  if (!error || typeof error !== "object" || error instanceof ConnectError) return undefined;
  const e = error as { code?: unknown; statusCode?: unknown };
  if (typeof e.code === "number") return e.code;
  if (typeof e.statusCode === "number") return e.statusCode;
  return undefined;
}

export const isNotFound = (error: unknown) => kubeStatusCode(error) === 404;
/** 409: a stale resourceVersion, or (on create) an object that already exists. */
export const isConflict = (error: unknown) => kubeStatusCode(error) === 409;

/**
 * Why a reconcile could not finish, as its status conditions say it: a CamelCase reason, a message
 * safe to show to anyone who can read the object, and whether retrying may help.
 */
export class SyncError extends Error {
  readonly reason: string;
  readonly retryable: boolean;
  constructor(reason: string, message: string, { retryable }: { retryable: boolean }) {
    super(message);
    this.name = "SyncError";
    this.reason = reason;
    this.retryable = retryable;
  }
}

/**
 * A failed call to auth's admin API as a SyncError: a refused request (a policy auth does not
 * accept, a lifetime above the maximum) is the object's fault and waits for a spec change;
 * anything else (auth unreachable, overloaded, an internal error) is retried with backoff.
 */
export function adminErrorToSyncError(error: unknown): SyncError {
  if (error instanceof SyncError) return error;
  if (error instanceof ConnectError) {
    switch (error.code) {
      case Code.InvalidArgument:
      case Code.FailedPrecondition:
      case Code.OutOfRange:
        return new SyncError("InvalidSpec", `auth refused it: ${error.rawMessage}`, {
          retryable: false,
        });
      case Code.Unauthenticated:
      case Code.PermissionDenied:
        return new SyncError(
          "AdminAccessDenied",
          `auth refused the operator's admin token: ${error.rawMessage}`,
          { retryable: true },
        );
      default:
        return new SyncError("AuthUnavailable", `auth: ${error.rawMessage}`, { retryable: true });
    }
  }
  const status = kubeStatusCode(error);
  if (status !== undefined) {
    return new SyncError("KubernetesError", `Kubernetes API: ${safeError(error).message}`, {
      retryable: true,
    });
  }
  return new SyncError("InternalError", safeError(error).message, { retryable: true });
}
