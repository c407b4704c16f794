// A typed client for the hostadmin v1 API: openapi-fetch over the types that
// openapi-typescript generates from openapi/v1.json (`npm run generate`).
import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { components, paths } from "./schema.js";

export type { components, paths };
export type Problem = components["schemas"]["Problem"];
export type ProblemCode = Problem["code"];

/** A client for the API at `baseUrl` (e.g. `https://panel.example.net`). */
export function hostadmin(baseUrl: string): Client<paths> {
  return createClient<paths>({ baseUrl });
}

/** Sends `Authorization: Bearer <token>` (an access token or an `hk_` API key). */
export function bearer(token: string): Middleware {
  return {
    onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  };
}
