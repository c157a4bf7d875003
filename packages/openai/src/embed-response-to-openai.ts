import type { EmbedResponse } from "@strata/proto";
import type { CreateEmbeddingResponse, EncodingFormat } from "./embedding.ts";

/** True on the (usual) little-endian hosts, where a Float32Array's bytes are already the wire bytes. */
const littleEndian = new Uint8Array(new Float32Array([1]).buffer)[3] === 0x3f;

/**
 * The OpenAI body of an embeddings answer: one entry per vector, in input order, as numbers or —
 * for `base64`, which both official SDKs request by default — as base64 of the vector packed as
 * little-endian float32 (docs/wire-formats.md#embeddings). Usage counts input tokens only.
 */
export function embedResponseToOpenAI(
  response: EmbedResponse,
  context: { model: string; encodingFormat: EncodingFormat },
): CreateEmbeddingResponse {
  return {
    object: "list",
    data: response.embeddings.map((embedding, index) => ({
      object: "embedding",
      index,
      embedding:
        context.encodingFormat === "base64"
          ? floatsToBase64(embedding.values)
          : Array.from(embedding.values),
    })),
    model: context.model,
    usage: { prompt_tokens: response.inputTokens, total_tokens: response.inputTokens },
  };
}

/** A vector as base64 of little-endian float32s, the `base64` encoding of OpenAI embeddings. */
export function floatsToBase64(values: readonly number[]): string {
  const floats = Float32Array.from(values);
  if (!littleEndian) {
    const view = new DataView(floats.buffer);
    for (const [i, value] of floats.entries()) view.setFloat32(i * 4, value, true);
  }
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString("base64");
}
