// A reseller's day, typed end to end: an operator creates a reseller; the reseller
// makes a plan, a customer and a service, adds a domain with DNS records and a mailbox,
// meets (and handles) `409 quota_exceeded`, pages through its services and renews one
// idempotently.
//
//   HOSTADMIN_URL=http://127.0.0.1:8080 HOSTADMIN_LOGIN=<operator> HOSTADMIN_PASSWORD=... npm run example
import { randomUUID } from "node:crypto";

import { hostadmin, logIn, ok, pages, ProblemError } from "../src/index.js";

const baseUrl = process.env.HOSTADMIN_URL ?? "http://127.0.0.1:8080";
const run = Date.now().toString(36);
const password = `a passphrase of ${randomUUID()}`;

// The operator creates a reseller.
const operator = hostadmin(baseUrl);
await logIn(operator, baseUrl, process.env.HOSTADMIN_LOGIN ?? "", process.env.HOSTADMIN_PASSWORD ?? "");
const resellerLogin = `reseller-${run}`;
ok(
  await operator.POST("/v1/customers", {
    body: { login: resellerLogin, password, name: "Example Reseller", email: `${resellerLogin}@example.test`, kind: "reseller" },
  }),
);

// The reseller sells a small web plan to a customer of its own.
const reseller = hostadmin(baseUrl);
await logIn(reseller, baseUrl, resellerLogin, password);
const plan = ok(
  await reseller.POST("/v1/plans", {
    body: {
      name: `Starter ${run}`,
      service_kind: "web_hosting",
      quotas: { disk_mb: 1024, domains: 1, mailboxes: 1, dns_records: 10 },
      prices: [{ cycle: "monthly", amount_minor: 500, currency: "EUR" }],
    },
  }),
);
const customerLogin = `customer-${run}`;
const customer = ok(
  await reseller.POST("/v1/customers", {
    body: { login: customerLogin, password, name: "Example Customer", email: `${customerLogin}@example.test` },
  }),
);
const service = ok(
  await reseller.POST("/v1/services", {
    body: { owner_id: customer.id, plan_id: plan.id, cycle: "monthly", name: "Shop" },
  }),
);
console.log(`service ${service.number} for ${customer.login}: ${service.status}, due ${service.next_due_at}`);

// A domain on the service, with records of its zone.
const name = `shop-${run}.test`;
ok(await reseller.POST("/v1/domains", { body: { name, service_id: service.id } }));
for (const record of [
  { type: "A", name: "www", content: "192.0.2.10" },
  { type: "MX", name: "@", content: "mail.example.net.", priority: 10 },
] as const) {
  ok(await reseller.POST("/v1/domains/{name}/dns/records", { params: { path: { name } }, body: record }));
}

// The plan allows one mailbox: the second is refused, and handled by its code.
const mailbox = (local: string) =>
  reseller.POST("/v1/services/{id}/mailboxes", {
    params: { path: { id: service.id } },
    body: { address: `${local}@${name}`, password },
  });
ok(await mailbox("info"));
try {
  ok(await mailbox("sales"));
  throw new Error("the plan allows one mailbox, yet a second was made");
} catch (error) {
  if (!(error instanceof ProblemError) || error.code !== "quota_exceeded") {
    throw error;
  }
  console.log(`second mailbox refused as expected: ${error.code}`);
}

// Every service the reseller reaches, page by page.
let count = 0;
for await (const each of pages((cursor) =>
  reseller.GET("/v1/services", { params: { query: { limit: 1, cursor } } }).then(ok),
)) {
  count += 1;
  console.log(`  ${each.number}\t${each.status}\t${each.name}`);
}
console.log(`${count} service(s)`);

// A renewal sent twice with one Idempotency-Key renews once; the second answer is the first, replayed.
const key = randomUUID();
const renew = () =>
  reseller.POST("/v1/services/{id}/renew", {
    params: { path: { id: service.id }, header: { "Idempotency-Key": key } },
    body: { cycles: 1 },
  });
const first = await renew();
const again = await renew();
const renewed = ok(first);
if (ok(again).next_due_at !== renewed.next_due_at || again.response.headers.get("Idempotent-Replayed") !== "true") {
  throw new Error("the repeated renewal was not replayed");
}
console.log(`renewed once: due ${renewed.next_due_at}`);
