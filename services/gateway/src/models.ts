import { StrataError } from "@strata/errors";
import { modelToOpenAI } from "@strata/openai";
import type { GatewayDeps, RequestContext } from "./context.ts";
import { sendJson } from "./http.ts";
import { modelAllowed, regionAllowed } from "./policy.ts";

/** GET /v1/models: the catalog, limited to the models the caller may use. */
export async function handleListModels(deps: GatewayDeps, ctx: RequestContext): Promise<void> {
  const models = await deps.catalog.list();
  const visible = models.filter(
    (m) =>
      modelAllowed(ctx.caller.policy, [m.id, ...m.aliases]) && regionAllowed(ctx.caller.policy, m),
  );
  sendJson(ctx.res, 200, { object: "list", data: visible.map(modelToOpenAI) });
}

/**
 * GET /v1/models/{id}. Bedrock ids contain `:` and ARNs contain `/`: the id is everything after
 * `/v1/models/`, percent-decoded (the SDK sends `/` as %2F; raw slashes are accepted too). A model
 * the caller may not use is reported as not found.
 */
export async function handleRetrieveModel(
  deps: GatewayDeps,
  ctx: RequestContext,
  encodedId: string,
): Promise<void> {
  let id: string;
  try {
    id = decodeURIComponent(encodedId);
  } catch {
    id = encodedId;
  }
  const model = await deps.catalog.resolve(id);
  if (
    !model ||
    !modelAllowed(ctx.caller.policy, [model.id, ...model.aliases]) ||
    !regionAllowed(ctx.caller.policy, model)
  ) {
    throw new StrataError(
      "model_not_found",
      `The model \`${id}\` does not exist or you do not have access to it.`,
      {
        param: "model",
      },
    );
  }
  sendJson(ctx.res, 200, { ...modelToOpenAI(model), id });
}
