import { invalidRequest, type StrataError } from "@strata/errors";
import type { ChatCompletionMessageParam, ChatCompletionRequest } from "@strata/openai";
import { SecretsMode } from "@strata/proto";
import type { PolicyLayers } from "./policy.ts";

// Sensitive-data filtering (docs/tool-call-validation.md): credentials found in the text a chat
// request would send to the model are refused (BLOCK) or replaced by a placeholder (REDACT). Pure.
// Every detector is a regular expression that runs in linear time: each starts with a literal or a
// left boundary that a token's own characters cannot satisfy, so no position inside a long run of
// token characters starts a second scan, and repetitions of a character class are followed by
// something that class cannot match.

/** The kinds of credential detected; the name appears in placeholders, metrics and audit events. */
export type SecretType =
  | "aws_access_key_id"
  | "aws_secret_access_key"
  | "private_key"
  | "strata_api_key"
  | "openai_api_key"
  | "anthropic_api_key"
  | "github_token"
  | "slack_token"
  | "google_api_key"
  | "stripe_live_key"
  | "jwt";

interface Detector {
  type: SecretType;
  /** How error messages name it. */
  label: string;
  /** Global (and, with a `secret` group, `d`) expression; only the `secret` group is replaced. */
  pattern: RegExp;
  /** An extra check of a match that the expression cannot express cheaply. */
  accept?: (match: string) => boolean;
}

const pemKind = "(?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?";

/** The detectors, in priority order for overlapping matches that start at the same place. */
const detectors: readonly Detector[] = [
  {
    type: "private_key",
    label: "private key",
    // A whole block (its body cannot contain "-----", so each scan stops at the next header), or,
    // when the END line is missing, the header and the base64 lines after it.
    pattern: new RegExp(
      `-----BEGIN ${pemKind}-----(?:[^-]*(?:-(?!----)[^-]*)*-----END ${pemKind}-----|(?:\\r?\\n[A-Za-z0-9+/=]{16,})+)`,
      "g",
    ),
    // A header with an elided body ("...") in documentation is not a key.
    accept: (match) => /[A-Za-z0-9+/]{16}/.test(match.slice(match.indexOf("KEY") + 3)),
  },
  {
    type: "aws_access_key_id",
    label: "AWS access key id",
    pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g,
  },
  {
    type: "aws_secret_access_key",
    label: "AWS secret access key",
    // Only when labelled: 40 base64 characters alone are far too common to flag.
    pattern:
      /(?:aws[_-]?secret[_-]?(?:access[_-]?)?key|secret[_-]?access[_-]?key)["']?[ \t]{0,16}[:=][ \t]{0,16}["']?(?<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/dgi,
  },
  {
    type: "strata_api_key",
    label: "Strata API key",
    pattern: /\bsk-strata-[0-9A-Za-z]{12}_[0-9A-Za-z]{49}(?![0-9A-Za-z])/g,
  },
  {
    type: "anthropic_api_key",
    label: "Anthropic API key",
    pattern: /\bsk-ant-[a-z]{3,8}[0-9]{2}-[A-Za-z0-9_-]{32,}/g,
  },
  {
    type: "openai_api_key",
    label: "OpenAI API key",
    // Not Strata's or Anthropic's prefix; a digit somewhere, so a hyphenated slug is not a key.
    pattern:
      /(?<![A-Za-z0-9_-])sk-(?!strata-|ant-)(?:proj-|svcacct-|admin-)?(?=[A-Za-z_-]{0,200}[0-9])[A-Za-z0-9_-]{20,}/g,
  },
  {
    type: "github_token",
    label: "GitHub token",
    pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g,
  },
  {
    type: "slack_token",
    label: "Slack token",
    pattern: /\bxox[abposr]-[0-9]+-[A-Za-z0-9-]{10,}/g,
  },
  {
    type: "google_api_key",
    label: "Google API key",
    pattern: /\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g,
  },
  {
    type: "stripe_live_key",
    label: "Stripe live key",
    pattern: /\b[rs]k_live_[0-9A-Za-z]{24,}\b/g,
  },
  {
    type: "jwt",
    label: "JSON Web Token",
    pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/g,
  },
];

const labels = Object.fromEntries(detectors.map((d) => [d.type, d.label])) as Record<
  SecretType,
  string
>;

/** Every type a detector can report, for tests and documentation. */
export const secretTypes: readonly SecretType[] = detectors.map((d) => d.type);

/** A credential found in one text: its type and the span to replace. */
export interface SecretMatch {
  type: SecretType;
  start: number;
  end: number;
}

/**
 * The credentials in a text, in order, without overlaps (where two detectors overlap, the match
 * that starts first wins, then the longer, then the earlier detector).
 */
export function findSecrets(text: string): SecretMatch[] {
  const found: Array<SecretMatch & { rank: number }> = [];
  for (const [rank, detector] of detectors.entries()) {
    for (const match of text.matchAll(detector.pattern)) {
      if (detector.accept && !detector.accept(match[0])) continue;
      const [start, end] = match.indices?.groups?.secret ?? [
        match.index,
        match.index + match[0].length,
      ];
      found.push({ type: detector.type, start, end, rank });
    }
  }
  found.sort((a, b) => a.start - b.start || b.end - a.end || a.rank - b.rank);
  const kept: SecretMatch[] = [];
  let until = -1;
  for (const { type, start, end } of found) {
    if (start < until) continue;
    kept.push({ type, start, end });
    until = end;
  }
  if (kept.length === 0) return kept;
  // Once the matches are replaced, the text between them stands alone: a credential that failed
  // to match only because more key characters followed it (now gone) must be found too, or the
  // redacted text would still hold a credential. Each gap is shorter than the text: this ends.
  const withGaps: SecretMatch[] = [];
  let from = 0;
  for (const m of [
    ...kept,
    { type: kept[0]?.type ?? "jwt", start: text.length, end: text.length },
  ]) {
    if (m.start > from) {
      for (const inner of findSecrets(text.slice(from, m.start))) {
        withGaps.push({ type: inner.type, start: inner.start + from, end: inner.end + from });
      }
    }
    if (m.start < text.length) withGaps.push(m);
    from = m.end;
  }
  return withGaps;
}

/** The placeholder that replaces a credential of this type. */
export function redactionPlaceholder(type: SecretType): string {
  return `[REDACTED:${type}]`;
}

/** A text with every credential replaced by its placeholder, and what was replaced. */
export function redactSecrets(text: string): { text: string; matches: SecretMatch[] } {
  const matches = findSecrets(text);
  if (matches.length === 0) return { text, matches };
  let out = "";
  let from = 0;
  for (const m of matches) {
    out += text.slice(from, m.start) + redactionPlaceholder(m.type);
    from = m.end;
  }
  return { text: out + text.slice(from), matches };
}

/** What the policy says about credentials in prompts, once the tenant's and key's are combined. */
export type SecretsAction = "off" | "redact" | "block";

/**
 * The stricter of the tenant's and the key's modes (block > redact > off): a key narrows its
 * tenant. A mode this gateway does not know (a newer enum value) counts as block.
 */
export function secretsActionOf(layers: PolicyLayers): SecretsAction {
  const actions = [layers.tenant?.secrets, layers.key?.secrets].map(
    (mode): SecretsAction =>
      mode === undefined || mode === SecretsMode.UNSPECIFIED
        ? "off"
        : mode === SecretsMode.REDACT
          ? "redact"
          : "block",
  );
  if (actions.includes("block")) return "block";
  if (actions.includes("redact")) return "redact";
  return "off";
}

/** Credentials of one type found in one field of a request. */
export interface SecretFinding {
  type: SecretType;
  /** OpenAI-style path of the field: `messages[2].content`, `messages[0].content[1].text`. */
  param: string;
  /** How many were found there. */
  count: number;
}

/**
 * Scans every text of a chat request that would reach the model (system, developer, user,
 * assistant and tool messages: string content, text and refusal parts, an assistant's `refusal`,
 * and the arguments of earlier tool calls) and, with `redact`, returns a copy of the request with
 * each credential replaced by `[REDACTED:<type>]` (the input is not modified; unchanged messages
 * are shared). Images, tool declarations and other parameters are not scanned. Findings are
 * grouped by field and type, in request order.
 */
export function scanChatRequest(
  request: ChatCompletionRequest,
  options: { redact: boolean },
): { request: ChatCompletionRequest; findings: SecretFinding[] } {
  const findings: SecretFinding[] = [];
  const visit = (text: string, param: string): string => {
    const { text: redacted, matches } = options.redact
      ? redactSecrets(text)
      : { text, matches: findSecrets(text) };
    const counts = new Map<SecretType, number>();
    for (const m of matches) counts.set(m.type, (counts.get(m.type) ?? 0) + 1);
    for (const [type, count] of counts) findings.push({ type, param, count });
    return redacted;
  };
  let changed = false;
  const messages = request.messages.map((message, i) => {
    const next = mapMessageTexts(message, `messages[${i}]`, visit);
    if (next !== message) changed = true;
    return next;
  });
  return { request: changed ? { ...request, messages } : request, findings };
}

/** The 400 for BLOCK: names the type and the field, never the value. */
export function sensitiveDataError(finding: SecretFinding): StrataError {
  return invalidRequest(
    finding.param,
    `The request contains what looks like a credential (type: ${labels[finding.type]}); it was not sent to the model.`,
    "sensitive_data_detected",
  );
}

type Visit = (text: string, param: string) => string;

/** A text content (string or parts) with each text mapped; the same value when nothing changed. */
function mapContent<P extends { type: string }>(
  content: string | P[],
  param: string,
  visit: Visit,
): string | P[] {
  if (typeof content === "string") return visit(content, `${param}.content`);
  let changed = false;
  const parts = content.map((part, j) => {
    const at = `${param}.content[${j}]`;
    let next: P = part;
    if (part.type === "text" && typeof (part as { text?: unknown }).text === "string") {
      const text = (part as P & { text: string }).text;
      const mapped = visit(text, `${at}.text`);
      if (mapped !== text) next = { ...part, text: mapped };
    } else if (
      part.type === "refusal" &&
      typeof (part as { refusal?: unknown }).refusal === "string"
    ) {
      const refusal = (part as P & { refusal: string }).refusal;
      const mapped = visit(refusal, `${at}.refusal`);
      if (mapped !== refusal) next = { ...part, refusal: mapped };
    }
    if (next !== part) changed = true;
    return next;
  });
  return changed ? parts : content;
}

/** A message with its texts mapped; the same object when nothing changed. */
function mapMessageTexts(
  message: ChatCompletionMessageParam,
  param: string,
  visit: Visit,
): ChatCompletionMessageParam {
  switch (message.role) {
    case "system":
    case "developer":
    case "user":
    case "tool": {
      const content = mapContent(message.content, param, visit);
      return content === message.content
        ? message
        : ({ ...message, content } as ChatCompletionMessageParam);
    }
    case "assistant": {
      const content =
        message.content == null ? message.content : mapContent(message.content, param, visit);
      const refusal =
        message.refusal == null ? message.refusal : visit(message.refusal, `${param}.refusal`);
      let callsChanged = false;
      const toolCalls = message.tool_calls?.map((call, j) => {
        const args = visit(call.function.arguments, `${param}.tool_calls[${j}].function.arguments`);
        if (args === call.function.arguments) return call;
        callsChanged = true;
        return { ...call, function: { ...call.function, arguments: args } };
      });
      if (content === message.content && refusal === message.refusal && !callsChanged) {
        return message;
      }
      const next = { ...message };
      if (content !== message.content) next.content = content;
      if (refusal !== message.refusal) next.refusal = refusal;
      if (callsChanged) next.tool_calls = toolCalls;
      return next;
    }
    case "function":
      // Refused by validation before this runs.
      return message;
    default: {
      const unexpected: never = message;
      return unexpected;
    }
  }
}
