/**
 * What the response translators must change in Bedrock's answer to honour a request that Converse
 * cannot express directly. The request translator decides it; the (stream and non-stream)
 * response translators apply it, so both paths behave the same.
 */
export interface AnswerShaping {
  /**
   * Drop every tool call of the answer: the client asked for no tool use (tool_choice none) but
   * Converse has no "none", so the tools may have been declared anyway (history with tool blocks).
   */
  readonly dropToolUse: boolean;
  /**
   * Keep only the first tool call (parallel tool calls disabled). Converse has no portable switch
   * for it, and Anthropic's native `disable_parallel_tool_use` conflicts with Converse's
   * toolChoice, so extra calls are dropped from the answer instead.
   */
  readonly firstToolUseOnly: boolean;
  /**
   * The name of the forced tool whose input is the structured answer (response_format
   * json_schema on a model without native structured output). Its call becomes a text block
   * holding the JSON, and other text blocks are dropped.
   */
  readonly jsonResponseTool: string | undefined;
}

/** The shaping of a request that needs none. */
export const noShaping: AnswerShaping = {
  dropToolUse: false,
  firstToolUseOnly: false,
  jsonResponseTool: undefined,
};

/** What to do with one tool call of the answer. */
export type ToolUseFate = "keep" | "drop" | "as-text";

/** Tool calls seen so far in one answer, by fate. */
export interface ToolUseTally {
  kept: number;
  asText: number;
}

/** A fresh tally for a new answer. */
export const newToolUseTally = (): ToolUseTally => ({ kept: 0, asText: 0 });

/**
 * Decides the fate of the answer's next tool call and counts it. Only the first call of the JSON
 * response tool becomes text (a second JSON document would make the text invalid JSON).
 */
export function nextToolUseFate(
  shaping: AnswerShaping,
  name: string,
  tally: ToolUseTally,
): ToolUseFate {
  if (shaping.jsonResponseTool !== undefined && name === shaping.jsonResponseTool) {
    tally.asText += 1;
    return tally.asText === 1 ? "as-text" : "drop";
  }
  if (shaping.dropToolUse || (shaping.firstToolUseOnly && tally.kept > 0)) return "drop";
  tally.kept += 1;
  return "keep";
}

/**
 * Whether text blocks of the answer are dropped: with a forced JSON response tool the answer is
 * the tool's input, and any text around it would make the content invalid JSON.
 */
export const dropsText = (shaping: AnswerShaping): boolean =>
  shaping.jsonResponseTool !== undefined;
