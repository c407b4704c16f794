#!/usr/bin/env python3
"""Seed a small installation through the API and pin its ids for schemathesis.

Usage: seed.py BASE_URL OUTPUT_TOML   (the operator's access token in HOSTADMIN_TOKEN)

Creates, as the operator (and as a reseller for what only a reseller can create): a
reseller with a customer below it, plans, web hosting services, domains with DNS
records, child hosts and a redirect, a mailbox, a forward, an FTP user, a database,
certificate requests, API keys, webhooks with deliveries, a ticket with a message and
an attachment, status components and an incident, the provider's billing settings,
orders with their invoices, a payment, credit, grants and a bulk job. Then it writes a
schemathesis configuration (schemathesis.toml) with one `[[operations]]` entry per
operation of the served document that has path parameters, pinning each of them to a
seeded object, so that the run gets past 404.

Operations that end or spend an object (terminate, block, void, cancel, ...) get
objects of their own ("victims"), so that the others keep theirs for the whole run;
DELETE operations are not pinned (see PINS). A path parameter this script has no value
for fails the seeding: a new route needs a line in BY_PATH below.

Standard library only.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import sys
import time
import urllib.error
import urllib.request

BASE = ""
TOKEN = ""


class SeedError(Exception):
    pass


def call(method, path, body=None, token=None, expect=(200, 201, 202, 204), content_type="application/json", raw=None):
    """One request; answers the decoded JSON body (or None). Fails on an unexpected status."""
    headers = {"Accept": "application/json"}
    data = None
    if raw is not None:
        data = raw
        headers["Content-Type"] = content_type
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = content_type
    if token is None:
        token = TOKEN
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status = response.status
            text = response.read().decode()
    except urllib.error.HTTPError as error:
        status = error.code
        text = error.read().decode(errors="replace")
    if status not in expect:
        raise SeedError(f"{method} {path} answered {status}: {text[:2000]}")
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def password():
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(24))


def login(name, secret):
    answer = call("POST", "/v1/auth/login", {"login": name, "password": secret}, token="")
    return answer["access_token"]


def customer(kind, login_name, token=None):
    secret = password()
    body = {
        "login": login_name,
        "password": secret,
        "name": f"Seed {login_name}",
        "email": f"{login_name}@seed.example",
        "kind": kind,
        "profile": {"country": "NL", "city": "Amsterdam", "street": "Damrak 1", "postal_code": "1012 LG"},
    }
    created = call("POST", "/v1/customers", body, token=token)
    return created["id"], secret


def plan(name, prices, public=True):
    body = {
        "name": name,
        "service_kind": "web_hosting",
        "quotas": {"disk_mb": 10240, "mailbox_default_mb": 1024},
        "prices": prices,
        "public": public,
        "addons": [
            {
                "code": "extra-disk",
                "name": "Extra disk",
                "quota_delta": {"disk_mb": 1024},
                "prices": [{"cycle": "monthly", "amount_minor": 100, "currency": "EUR"}],
            }
        ],
    }
    return call("POST", "/v1/plans", body)["id"]


def service(owner, plan_id, name):
    body = {"owner_id": owner, "plan_id": plan_id, "cycle": "monthly", "name": name}
    return call("POST", "/v1/services", body)["id"]


def order(buyer, plan_id, name):
    body = {
        "customer_id": buyer,
        "currency": "EUR",
        "items": [{"type": "new_service", "plan_id": plan_id, "cycle": "monthly", "name": name}],
    }
    created = call("POST", "/v1/orders", body)
    return created["id"], created["invoice_id"]


def seed():
    ids = {}

    # The provider's billing settings: orders issue invoices from them.
    call(
        "PUT",
        "/v1/billing/settings",
        {
            "legal_name": "Seed Hosting B.V.",
            "address": {"street": "Damrak 1", "postal_code": "1012 LG", "city": "Amsterdam", "country": "NL"},
            "invoice_prefix": "INV-",
            "payment_terms_days": 14,
            "tax_rates": {"NL": "21"},
            "default_tax_rate": "0",
            "reverse_charge": True,
            "renewal_invoice_days": 14,
        },
    )

    # Accounts: a reseller with a customer below it (the main customer), and victims.
    ids["reseller"], reseller_password = customer("reseller", "seed-reseller")
    reseller_token = login("seed-reseller", reseller_password)
    ids["customer"], _ = customer("customer", "seed-customer", token=reseller_token)
    ids["customer_victim"], _ = customer("customer", "seed-victim")
    ids["customer_blocked"], _ = customer("customer", "seed-blocked")

    # Catalog: the plan services are on, one to change to, one to archive.
    monthly = [
        {"cycle": "monthly", "amount_minor": 500, "currency": "EUR"},
        {"cycle": "annual", "amount_minor": 5000, "currency": "EUR"},
    ]
    ids["plan"] = plan("Seed web", monthly)
    ids["plan_other"] = plan("Seed web plus", [{"cycle": "monthly", "amount_minor": 900, "currency": "EUR"}])

    # Services of the main customer: the one everything hangs on, and victims for the
    # lifecycle actions (suspend/unsuspend and cancel/withdraw share one; terminate ends one).
    ids["service"] = service(ids["customer"], ids["plan"], "Seed web")
    ids["service_lifecycle"] = service(ids["customer"], ids["plan"], "Seed lifecycle")
    ids["service_terminate"] = service(ids["customer"], ids["plan"], "Seed terminate")
    service_id = ids["service"]

    # Domains, DNS records, child hosts, a redirect.
    domain = "seed-example.test"
    call("POST", "/v1/domains", {"name": domain, "service_id": service_id})
    ids["domain"] = domain
    records = f"/v1/domains/{domain}/dns/records"
    ids["record"] = call("POST", records, {"type": "A", "name": "www", "content": "192.0.2.10"})["id"]
    hosts = f"/v1/domains/{domain}/hosts"
    call("POST", hosts, {"hostname": f"ns1.{domain}", "ips": ["192.0.2.53"]})
    call("PUT", f"/v1/domains/{domain}/redirect", {"type": "301", "target": "https://www.example.com/"})

    # Hosting resources of the service.
    base = f"/v1/services/{service_id}"
    ids["mailbox"] = call("POST", base + "/mailboxes", {"address": f"info@{domain}", "password": password()})["id"]
    ids["forward"] = call(
        "POST", base + "/forwards", {"source": f"sales@{domain}", "destinations": [f"info@{domain}"]}
    )["id"]
    ids["ftp_user"] = call("POST", base + "/ftp-users", {"username": "seedftp", "password": password()})["id"]
    ids["database"] = call(
        "POST", base + "/databases", {"name": "shop", "engine": "mysql", "user": "shop", "password": password()}
    )["id"]
    ids["certificate"] = call("POST", base + "/certificates/csr", {"common_name": f"www.{domain}"})["id"]

    # The operator's own API keys and webhooks, with deliveries (to an address that
    # refuses connections, allowed by HOSTADMIN_WEBHOOK_ALLOW_HOSTS).
    scopes = ["account:read"]
    ids["api_key"] = call("POST", "/v1/me/api-keys", {"name": "seed", "scopes": scopes})["id"]
    hook = {"url": "http://127.0.0.1:9/hook", "events": ["*"], "description": "seed"}
    ids["webhook"] = call("POST", "/v1/webhooks", hook)["id"]
    call("POST", f"/v1/webhooks/{ids['webhook']}/test")
    ids["delivery"] = wait_for_delivery(ids["webhook"])

    # Support: an outgoing ticket to the reseller (directly below the operator).
    ticket = call(
        "POST",
        "/v1/tickets",
        {"customer_id": ids["reseller"], "subject": "Seed ticket", "body": "Hello from the seed."},
    )
    ids["ticket"] = ticket["id"]
    call("POST", f"/v1/tickets/{ids['ticket']}/messages", {"body": "A second message."})
    ids["attachment"] = call(
        "POST",
        f"/v1/tickets/{ids['ticket']}/attachments?filename=seed.txt",
        raw=b"seed attachment\n",
        content_type="text/plain",
    )["id"]

    # Status page.
    ids["component"] = call("POST", "/v1/status/components", {"name": "Seed web", "status": "operational"})["id"]
    ids["incident"] = call(
        "POST",
        "/v1/status/incidents",
        {
            "kind": "fault",
            "title": "Seed fault",
            "body": "Something is slow.",
            "component_ids": [ids["component"]],
            "impact": "degraded",
        },
    )["id"]

    # Billing: orders (with their invoices) by the provider for the reseller; one paid.
    ids["order"], ids["invoice"] = order(ids["reseller"], ids["plan"], "Seed order")
    ids["order_victim"], _ = order(ids["reseller"], ids["plan"], "Seed order to cancel")
    _, ids["invoice_victim"] = order(ids["reseller"], ids["plan"], "Seed order to void")
    _, ids["invoice_paid"] = order(ids["reseller"], ids["plan"], "Seed order paid")
    paid = call("GET", f"/v1/invoices/{ids['invoice_paid']}")
    call(
        "POST",
        f"/v1/invoices/{ids['invoice_paid']}/payments",
        {"amount_minor": paid["amount_due_minor"], "method": "bank_transfer", "reference": "seed"},
    )
    call("POST", f"/v1/customers/{ids['reseller']}/credit", {"amount_minor": 1000, "currency": "EUR", "reason": "seed"})

    # Grants: given by the operator (one to change, one to withdraw), and one the
    # reseller gives the operator (to accept).
    grant = {"grantee": "seed-reseller", "permissions": ["view"]}
    ids["grant"] = call("POST", "/v1/authorizations", grant)["id"]
    ids["grant_received"] = call(
        "POST", "/v1/authorizations", {"grantee": "ci-operator", "permissions": ["view"]}, token=reseller_token
    )["id"]

    # A bulk job: more than 100 items are queued (the unknown ids fail as items).
    service_ids = [service_id] + [uuid7() for _ in range(100)]
    job = call("POST", "/v1/services/bulk", {"action": "set_auto_renew", "service_ids": service_ids, "params": {"auto_renew": True}})
    ids["job"] = job["id"]
    return ids


def uuid7():
    """A random UUIDv7 (nothing has it)."""
    millis = int(time.time() * 1000)
    value = (millis << 80) | (0x7 << 76) | (secrets.randbits(12) << 64) | (0b10 << 62) | secrets.randbits(62)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def wait_for_delivery(webhook_id):
    for _ in range(60):
        page = call("GET", f"/v1/webhooks/{webhook_id}/deliveries")
        if page["data"]:
            return page["data"][0]["id"]
        time.sleep(0.5)
    raise SeedError(f"webhook {webhook_id}: no delivery within 30 s of its test")


# Which seeded object each path parameter gets: by operation id, else by path. The
# values name keys of seed()'s result.
BY_PATH = {
    "/v1/authorizations/{id}": {"id": "grant"},
    "/v1/authorizations/{id}/accept": {"id": "grant_received"},
    "/v1/customers/{id}": {"id": "customer"},
    "/v1/customers/{id}/credit": {"id": "reseller"},
    "/v1/customers/{id}/credit/transactions": {"id": "reseller"},
    "/v1/customers/{id}/impersonate": {"id": "customer"},
    "/v1/customers/{id}/restrictions": {"id": "customer_victim"},
    "/v1/customers/{id}/suspend": {"id": "customer_victim"},
    "/v1/customers/{id}/unsuspend": {"id": "customer_victim"},
    "/v1/customers/{id}/block": {"id": "customer_blocked"},
    "/v1/customers/{id}/unblock": {"id": "customer_blocked"},
    "/v1/customers/{id}/two-factor": {"id": "customer"},
    "/v1/customers/{id}/verification-email": {"id": "customer"},
    "/v1/domains/{name}": {"name": "domain"},
    "/v1/domains/{name}/dns/records": {"name": "domain"},
    "/v1/domains/{name}/dns/records/{id}": {"name": "domain", "id": "record"},
    "/v1/domains/{name}/dns/zone": {"name": "domain"},
    "/v1/domains/{name}/hosts": {"name": "domain"},
    "/v1/domains/{name}/redirect": {"name": "domain"},
    "/v1/domains/{name}/retry-provisioning": {"name": "domain"},
    "/v1/invoices/{id}": {"id": "invoice"},
    "/v1/invoices/{id}/apply-credit": {"id": "invoice"},
    "/v1/invoices/{id}/credit-note": {"id": "invoice_paid"},
    "/v1/invoices/{id}/payments": {"id": "invoice"},
    "/v1/invoices/{id}/void": {"id": "invoice_victim"},
    "/v1/jobs/{id}": {"id": "job"},
    "/v1/me/api-keys/{id}": {"id": "api_key"},
    "/v1/orders/{id}": {"id": "order"},
    "/v1/orders/{id}/cancel": {"id": "order_victim"},
    "/v1/plans/{id}": {"id": "plan"},
    "/v1/services/{id}": {"id": "service"},
    "/v1/services/{id}/cancel": {"id": "service_lifecycle"},
    "/v1/services/{id}/suspend": {"id": "service_lifecycle"},
    "/v1/services/{id}/unsuspend": {"id": "service_lifecycle"},
    "/v1/services/{id}/terminate": {"id": "service_terminate"},
    "/v1/services/{id}/certificates/{certificate_id}": {"id": "service", "certificate_id": "certificate"},
    "/v1/services/{id}/databases/{database_id}": {"id": "service", "database_id": "database"},
    "/v1/services/{id}/databases/{database_id}/retry-provisioning": {"id": "service", "database_id": "database"},
    "/v1/services/{id}/forwards/{forward_id}": {"id": "service", "forward_id": "forward"},
    "/v1/services/{id}/ftp-users/{ftp_user_id}": {"id": "service", "ftp_user_id": "ftp_user"},
    "/v1/services/{id}/mailboxes/{mailbox_id}": {"id": "service", "mailbox_id": "mailbox"},
    "/v1/status/components/{id}": {"id": "component"},
    "/v1/status/incidents/{id}": {"id": "incident"},
    "/v1/status/incidents/{id}/updates": {"id": "incident"},
    "/v1/tickets/{id}": {"id": "ticket"},
    "/v1/tickets/{id}/attachments": {"id": "ticket"},
    "/v1/tickets/{id}/attachments/{attachment_id}": {"id": "ticket", "attachment_id": "attachment"},
    "/v1/tickets/{id}/messages": {"id": "ticket"},
    "/v1/webhooks/{id}": {"id": "webhook"},
    "/v1/webhooks/{id}/deliveries": {"id": "webhook"},
    "/v1/webhooks/{id}/deliveries/{delivery_id}/retry": {"id": "webhook", "delivery_id": "delivery"},
    "/v1/webhooks/{id}/rotate-secret": {"id": "webhook"},
    "/v1/webhooks/{id}/test": {"id": "webhook"},
}
# Every other /v1/services/{id}/... path: the main service.
SERVICE_PREFIX = "/v1/services/{id}/"

# PINS: DELETE operations are not pinned: they would spend the seeded object in the first
# phase, and the stateful phase deletes what it created through the links; a pinned id
# there would stand for the created one (schemathesis then reports a resource it just
# created as missing).

# Fields of request bodies that name server state, pinned like path parameters: the
# operator has no seller, so its tickets go to an account directly below it.
BODY_PINS = {"create_ticket": {"body.customer_id": "reseller"}}


def pins(document, ids):
    """[(operation id, {path parameter: value})] for every operation with path parameters."""
    result = []
    missing = []
    for path, item in sorted(document["paths"].items()):
        for method, operation in sorted(item.items()):
            if not isinstance(operation, dict) or "operationId" not in operation:
                continue
            names = [p["name"] for p in item.get("parameters", []) + operation.get("parameters", []) if p.get("in") == "path"]
            body = {key: ids[role] for key, role in BODY_PINS.get(operation["operationId"], {}).items()}
            if not names:
                if body:
                    result.append((operation["operationId"], body))
                continue
            if method == "delete":
                continue
            chosen = dict(BY_PATH.get(path, {}))
            if not chosen and path.startswith(SERVICE_PREFIX):
                chosen = {"id": "service"}
            values = {}
            for name in names:
                if name not in chosen:
                    missing.append(f"{method.upper()} {path}: {{{name}}}")
                    continue
                values["path." + name] = ids[chosen[name]]
            result.append((operation["operationId"], {**values, **body}))
    if missing:
        raise SeedError("no seeded value for these path parameters (add them to BY_PATH in .ci/seed.py):\n  " + "\n  ".join(missing))
    return result


def toml_string(value):
    return json.dumps(value)


def main():
    global BASE, TOKEN
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    BASE = sys.argv[1].rstrip("/")
    output = sys.argv[2]
    TOKEN = os.environ.get("HOSTADMIN_TOKEN", "")
    if not TOKEN:
        print("HOSTADMIN_TOKEN (the operator's access token) is not set", file=sys.stderr)
        return 2
    try:
        ids = seed()
        document = call("GET", "/v1/openapi.json", token="")
        pinned = pins(document, ids)
    except SeedError as error:
        print(f"seeding failed: {error}", file=sys.stderr)
        return 1

    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "schemathesis.toml"), encoding="utf-8") as file:
        template = file.read()
    lines = [
        "# Written by .ci/seed.py from .ci/schemathesis.toml and the seeded installation.",
        f"hooks = {toml_string(os.path.join(here, 'schemathesis_hooks.py'))}",
        "",
        template,
    ]
    for operation_id, values in pinned:
        lines.append("[[operations]]")
        lines.append(f"include-operation-id = {toml_string(operation_id)}")
        inner = ", ".join(f"{toml_string(name)} = {toml_string(value)}" for name, value in values.items())
        lines.append(f"parameters = {{ {inner} }}")
        lines.append("")
    with open(output, "w", encoding="utf-8") as file:
        file.write("\n".join(lines))
    # The hooks tell a pinned id from one a link gave (HOSTADMIN_ST_PINS).
    with open(output + ".pins.json", "w", encoding="utf-8") as file:
        json.dump(sorted({value for _, values in pinned for value in values.values()}), file)
    print(f"seeded {len(ids)} objects; {len(pinned)} operations pinned in {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
