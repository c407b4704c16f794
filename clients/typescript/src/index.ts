// A typed client for the hostadmin v1 API: openapi-fetch over the types that
// openapi-typescript generates from openapi/v1.json (`npm run generate`), with three
// helpers every integration needs: a session that refreshes its access token, problem
// answers as errors with a typed `code`, and cursor pagination.
import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { components, paths } from "./schema.js";

export type { components, paths };
export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];
/** Every code the API answers with (docs/errors.md). */
export type ProblemCode = Problem["code"];

/** A client for the API at `baseUrl` (e.g. `https://panel.example.net`). */
export function hostadmin(baseUrl: string): Client<paths> {
  return createClient<paths>({ baseUrl });
}

/** Sends `Authorization: Bearer <key>`: an `hk_` API key, which needs no refreshing. */
export function apiKey(key: string): Middleware {
  return {
    onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${key}`);
      return request;
    },
  };
}

/**
 * Logs in and keeps the session: every request carries the access token, and one
 * answered `401` is retried once after a refresh (refresh tokens are spent by their
 * use, so concurrent refreshes share one).
 */
export async function logIn(api: Client<paths>, baseUrl: string, login: string, password: string): Promise<void> {
  let tokens = ok(await api.POST("/v1/auth/login", { body: { login, password } }));
  let refreshing: Promise<void> | undefined;
  const refresh = async () => {
    const refreshed = await hostadmin(baseUrl).POST("/v1/auth/refresh", {
      body: { refresh_token: tokens.refresh_token },
    });
    tokens = ok(refreshed);
  };
  api.use({
    onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${tokens.access_token}`);
      return request;
    },
    async onResponse({ request, response }) {
      if (response.status !== 401 || request.headers.get("X-Retried") !== null) {
        return response;
      }
      refreshing ??= refresh().finally(() => {
        refreshing = undefined;
      });
      await refreshing;
      const again = new Request(request, { headers: new Headers(request.headers) });
      again.headers.set("Authorization", `Bearer ${tokens.access_token}`);
      again.headers.set("X-Retried", "1");
      return fetch(again);
    },
  });
}

/** A problem answer as an error: `code` is one of docs/errors.md, typed. */
export class ProblemError extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(`${problem.code}: ${problem.detail}`);
    this.name = "ProblemError";
    this.code = problem.code;
    this.status = problem.status;
    this.problem = problem;
  }
}

/** The answer's data, or its problem thrown as a [`ProblemError`]. */
export function ok<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined) {
    const problem = result.error as Problem;
    throw new ProblemError(problem);
  }
  if (result.data === undefined) {
    throw new Error(`no body in the ${result.response.status} answer`);
  }
  return result.data;
}

/** Every item of a cursor-paginated list, page after page. */
export async function* pages<Item>(
  fetchPage: (cursor: string | undefined) => Promise<{ data: Item[]; next_cursor?: string | null }>,
): AsyncGenerator<Item> {
  let cursor: string | undefined;
  do {
    const page = await fetchPage(cursor);
    yield* page.data;
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined);
}
