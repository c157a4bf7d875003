// Wire types of `POST /v1/embeddings`, from openai-openapi (CreateEmbeddingRequest,
// CreateEmbeddingResponse, Embedding).

/** How vectors are sent back: JSON numbers, or base64 of little-endian float32s. */
export type EncodingFormat = "float" | "base64";

/**
 * A validated `POST /v1/embeddings` body, normalised: `input` as text (token ids decoded), the
 * format defaulted.
 */
export interface EmbeddingRequest {
  model: string;
  /**
   * One text or up to 2048 texts. A flat token array (`[15339, 1917]`) becomes one text, an
   * array of token arrays (`[[15339, 1917]]`) a list of texts, one per array.
   */
  input: string | string[];
  /** `float` when the client sent none (the SDKs always send one: `base64`). */
  encoding_format: EncodingFormat;
  /** Requested vector size; absent means the model's default. */
  dimensions?: number | undefined;
  user?: string | undefined;
}

/** One vector of the answer, in input order. */
export interface Embedding {
  object: "embedding";
  index: number;
  /** Numbers for `float`; a base64 string of little-endian float32s for `base64`. */
  embedding: number[] | string;
}

/** `object: "list"`: the body of an embeddings answer. */
export interface CreateEmbeddingResponse {
  object: "list";
  data: Embedding[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}
