// Logs in, reads the account and lists its services, page by page.
//
//   HOSTADMIN_URL=http://127.0.0.1:8080 HOSTADMIN_LOGIN=... HOSTADMIN_PASSWORD=... npm run example
import { bearer, hostadmin } from "../src/index.js";

const baseUrl = process.env.HOSTADMIN_URL ?? "http://127.0.0.1:8080";
const login = process.env.HOSTADMIN_LOGIN ?? "";
const password = process.env.HOSTADMIN_PASSWORD ?? "";

const api = hostadmin(baseUrl);
const session = await api.POST("/v1/auth/login", { body: { login, password } });
if (session.error) {
  // `code` is the enum of docs/errors.md: a misspelt code does not compile.
  if (session.error.code === "rate_limited") {
    throw new Error(`too many failed logins; wait ${session.response.headers.get("Retry-After")} s`);
  }
  throw new Error(`login failed: ${session.error.code}: ${session.error.detail}`);
}
api.use(bearer(session.data.access_token));

const me = await api.GET("/v1/me");
if (me.error) {
  throw new Error(`${me.error.code}: ${me.error.detail}`);
}
console.log(`logged in as ${me.data.login} (${me.data.kind})`);

let cursor: string | undefined;
let count = 0;
do {
  const page = await api.GET("/v1/services", { params: { query: { limit: 100, cursor } } });
  if (page.error) {
    throw new Error(`${page.error.code}: ${page.error.detail}`);
  }
  for (const service of page.data.data) {
    count += 1;
    console.log(`${service.number}\t${service.status}\t${service.name}\tdue ${service.next_due_at}`);
  }
  cursor = page.data.next_cursor ?? undefined;
} while (cursor !== undefined);
console.log(`${count} service(s)`);
