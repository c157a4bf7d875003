import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { StrataError } from "@strata/errors";
import { UpstreamPolicySchema } from "@strata/proto";
import { describe, expect, it } from "vitest";
import {
  converseGuardrailConfig,
  crossAccountRoleOf,
  streamGuardrailConfig,
} from "./upstream-policy.ts";

const policy = (init: MessageInitShape<typeof UpstreamPolicySchema>) =>
  create(UpstreamPolicySchema, init);

describe("upstream policy", () => {
  it.each([
    ["no policy", undefined],
    ["an empty policy", policy({})],
    ["a guardrail without identifier", policy({ guardrail: { version: "1" } })],
  ])("applies no guardrail for %s", (_case, upstream) => {
    expect(converseGuardrailConfig(upstream)).toBeUndefined();
    expect(streamGuardrailConfig(upstream)).toBeUndefined();
  });

  it("sends the guardrail to Converse, and in sync mode to ConverseStream", () => {
    const upstream = policy({ guardrail: { identifier: "gr-1", version: "DRAFT" } });
    expect(converseGuardrailConfig(upstream)).toEqual({
      guardrailIdentifier: "gr-1",
      guardrailVersion: "DRAFT",
    });
    expect(streamGuardrailConfig(upstream)).toEqual({
      guardrailIdentifier: "gr-1",
      guardrailVersion: "DRAFT",
      streamProcessingMode: "sync",
    });
  });

  it.each([
    ["Converse", converseGuardrailConfig],
    ["ConverseStream", streamGuardrailConfig],
  ] as const)(
    "refuses a guardrail without a version for %s instead of dropping it",
    (_op, translate) => {
      const upstream = policy({ guardrail: { identifier: "gr-1" } });
      let thrown: unknown;
      try {
        translate(upstream);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(StrataError);
      expect((thrown as StrataError).reason).toBe("internal");
    },
  );

  it.each([
    ["no policy", undefined, undefined],
    ["no role", policy({ guardrail: { identifier: "g", version: "1" } }), undefined],
    ["an empty role ARN", policy({ crossAccount: { externalId: "e" } }), undefined],
    [
      "a role with an external id",
      policy({ crossAccount: { roleArn: "arn:aws:iam::1:role/r", externalId: "e-1" } }),
      { roleArn: "arn:aws:iam::1:role/r", externalId: "e-1" },
    ],
    [
      "a role without an external id",
      policy({ crossAccount: { roleArn: "arn:aws:iam::1:role/r" } }),
      { roleArn: "arn:aws:iam::1:role/r", externalId: "" },
    ],
  ])("reads the cross-account role from %s", (_case, upstream, role) => {
    expect(crossAccountRoleOf(upstream)).toEqual(role);
  });
});
