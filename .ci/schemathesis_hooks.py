"""schemathesis hooks for CI (.ci/run step d).

1. Idempotency-Key: a client uses a fresh key for every distinct request (API.md: the
   same key with another body is `422 idempotency_key_reused`). schemathesis draws keys
   from a small space ("0", the documented example, ...) and reuses them across bodies,
   so a schema-valid key gets a unique suffix before the request is sent (its length
   and alphabet stay schema-valid; invalid keys are left alone, so the negative cases
   still test the header).

2. `positive_data_acceptance` ("schema-valid request rejected") is not failed by a 422
   whose every error is one of the refusals below: the document states all it can, and
   these depend on what no schema can know or say. Each is narrow (a field error code,
   sometimes only at one pointer or for one operation); any other error in the same
   answer still fails the run.

   Server state the run cannot know:
   - `invalid_cursor` for a cursor the server did not issue (issued cursors are tracked
     from the answers; a refused issued cursor still fails the run);
   - `invalid_token`: password-reset and verification tokens, which only mails carry;
   - `invalid_credentials`: a wrong `password` / `current_password` inside an
     authenticated request (the run does not know the operator's password);
   - `grantee_not_found`: a login or email address no account has;
   - `domain_not_on_service`: an address on a domain the service does not have;
   - `exceeds_plan`: a mailbox larger than the service's plan allows;
   - `exceeds_creditable`: a credit note for more than is left to credit;
   - `invalid_progress`: an update's stage for the incident's kind;
   - `cname_conflict`, `duplicate_record`, `out_of_zone`: the zone's other records, and
     the zone's own name in an absolute record name;
   - `too_long` of a database's name or user: the service number is prefixed;
   - `not_below_domain`: a child host's name below the domain in the path;
   - `several_tax_rates`, and `required` of a credit note's `amount_minor`: the
     invoice's lines and the credit notes it already has;
   - `required` of a ticket's `customer_id`: an operator has no seller, so it writes
     only to an account below it (the caller's kind, not the request's shape);
   - a patch of a DNS record, an incident or a plan is checked as the merged object, so
     a refusal of a field the patch does not send (or of content, priority and name when
     it does not send the record's `type`: a wildcard or apex name is refused for the
     stored record's type, e.g. NS) comes from the stored one, and `required` of a field
     the patch sets to `null` (removes) comes from the merged one (an MX record without
     its priority).
   The network's and the clock's state:
   - `webhook_url_refused`: a host that does not resolve to public addresses;
   - `in_the_past`, `too_far_ahead`, `in_the_future`: times compared with now.
   Content that JSON Schema cannot describe:
   - `password_too_common`: one of the 30,000 most common passwords;
   - `public_suffix`: the Public Suffix List;
   - `invalid_iban` (and `invalid_value` at `/iban`, where the IBAN type refuses it),
     `invalid_vat_id`, `vat_id_country_mismatch`: check digits and the seller's country;
   - `invalid_pem`, `invalid_certificate`, `unsupported_key`, `certificate_mismatch`,
     `certificate_expired`, `private_key_required`: what a PEM block holds;
   - `expires_before_suspension`, `invalid_window`, `currency_mismatch`, `not_offered`,
     and `duplicate` of a price's cycle or an add-on's code: one field compared with
     another;
   - `duplicate` of domain names, name servers and forward destinations in other
     spellings (case, Unicode and punycode, a final dot), which `uniqueItems` does not
     see; `invalid_length` of an FTP directory and TXT content (bytes, not characters);
   - `invalid_content` of a CAA record: the `issue`, `issuewild` and `iodef` values.
   schemathesis' own limits:
   - `empty` of an attachment's body: the document says `minLength: 1`, which
     schemathesis does not apply to binary bodies.

3. `ensure_resource_availability` ("created resource not found") is not failed by a
   404 for a pinned id: the configuration pins path parameters to seeded objects (which
   the stateful phase may delete through a list's links), and schemathesis takes every
   configured value for one a link gave, as if it named what the POST created.

   HEAD answers have no body: the same request is repeated as GET to read the codes.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid

import requests
import schemathesis

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")

ANYWHERE = frozenset(
    {
        "invalid_cursor",
        "invalid_token",
        "invalid_credentials",
        "grantee_not_found",
        "domain_not_on_service",
        "exceeds_plan",
        "exceeds_creditable",
        "invalid_progress",
        "cname_conflict",
        "duplicate_record",
        "out_of_zone",
        "webhook_url_refused",
        "in_the_past",
        "too_far_ahead",
        "in_the_future",
        "password_too_common",
        "public_suffix",
        "invalid_iban",
        "invalid_vat_id",
        "vat_id_country_mismatch",
        "invalid_pem",
        "invalid_certificate",
        "unsupported_key",
        "certificate_mismatch",
        "certificate_expired",
        "private_key_required",
        "expires_before_suspension",
        "invalid_window",
        "currency_mismatch",
        "not_offered",
        "not_below_domain",
        "several_tax_rates",
    }
)

# (code, pointer, operation or None)
AT = [
    ("invalid_value", re.compile(r"^/iban$"), None),
    ("duplicate", re.compile(r"^(/addons/\d+)?/prices/\d+/cycle$"), None),
    ("duplicate", re.compile(r"^/addons/\d+/code$"), None),
    ("duplicate", re.compile(r"^/domains/\d+$"), "POST /v1/domains/bulk"),
    ("duplicate", re.compile(r"^(/params)?/nameservers/\d+$"), None),
    ("duplicate", re.compile(r"^/destinations/\d+$"), None),
    ("invalid_length", re.compile(r"^/directory$"), None),
    ("invalid_length", re.compile(r"^/content$"), None),
    ("too_long", re.compile(r"^/(name|user)$"), "POST /v1/services/{id}/databases"),
    ("required", re.compile(r"^/customer_id$"), "POST /v1/tickets"),
    ("required", re.compile(r"^/amount_minor$"), "POST /v1/invoices/{id}/credit-note"),
    ("empty", re.compile(r"^/body$"), "POST /v1/tickets/{id}/attachments"),
    ("not_applicable", re.compile(r"^/(quotas|addons/\d+/quota_delta)/"), "PATCH /v1/plans/{id}"),
    ("not_planned", re.compile(r"^/scheduled_(start|end)$"), "PATCH /v1/status/incidents/{id}"),
    ("required", re.compile(r"^/scheduled_(start|end)$"), "PATCH /v1/status/incidents/{id}"),
]

# Every value .ci/seed.py pinned (HOSTADMIN_ST_PINS names the file it wrote them to).
try:
    with open(os.environ.get("HOSTADMIN_ST_PINS", ""), encoding="utf-8") as _file:
        PINNED = frozenset(json.load(_file))
except (OSError, ValueError):
    PINNED = frozenset()

MERGED = {
    "PATCH /v1/domains/{name}/dns/records/{id}",
    "PATCH /v1/status/incidents/{id}",
    "PATCH /v1/plans/{id}",
}

_issued_cursors: set[str] = set()
_lock = threading.Lock()


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() != "idempotency-key":
            continue
        key = headers[name]
        if isinstance(key, str) and IDEMPOTENCY_KEY.match(key):
            suffix = "-" + uuid.uuid4().hex
            headers[name] = (key + suffix) if len(key) + len(suffix) <= 255 else key[: 255 - len(suffix)] + suffix


@schemathesis.hook
def after_call(context, case, response):
    if response.status_code != 200 or b"next_cursor" not in response.content:
        return
    try:
        cursor = json.loads(response.content).get("next_cursor")
    except (ValueError, AttributeError):
        return
    if isinstance(cursor, str):
        with _lock:
            _issued_cursors.add(cursor)


def _problem(response):
    """The problem document of a 422 (for HEAD: of the same request as GET)."""
    if response.request.method == "HEAD":
        request = response.request
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        try:
            again = requests.get(request.url, headers=headers, timeout=10)
        except requests.RequestException:
            return None
        if again.status_code != 422:
            return None
        content = again.content
    else:
        content = response.content
    try:
        problem = json.loads(content)
    except ValueError:
        return None
    return problem if isinstance(problem, dict) else None


def _body(case):
    body = case.body
    return body if isinstance(body, dict) else {}


def _explained(error, case, operation):
    code, pointer = error.get("code"), error.get("pointer") or ""
    if code in ANYWHERE:
        if code == "invalid_cursor":
            cursor = (case.query or {}).get("cursor")
            with _lock:
                return cursor not in _issued_cursors
        return True
    for known, at, only in AT:
        if code == known and at.match(pointer) and (only is None or only == operation):
            return True
    body = _body(case)
    if code == "invalid_content" and pointer == "/content" and str(body.get("type", "")).upper() == "CAA":
        return True
    if operation in MERGED:
        field = pointer.split("/")[1] if pointer.count("/") >= 1 else ""
        if field not in body:
            return True
        # `null` removes the field (RFC 7396); whether the merged object may lack it
        # depends on the rest of it (an MX or SRV record needs its priority).
        if code == "required" and body.get(field) is None:
            return True
        if operation.startswith("PATCH /v1/domains") and "type" not in body and field in ("content", "priority", "name"):
            return True
    return False


@schemathesis.hook
def filter_failure(context, failure, case, response):
    code = getattr(failure, "code", None)
    if code == "ST302" and response.status_code == 404:
        values = list((case.path_parameters or {}).values())
        return not (values and all(str(value) in PINNED for value in values))
    if code != "ST202" or response.status_code != 422:
        return True
    problem = _problem(response)
    if problem is None:
        return True
    errors = problem.get("errors") or []
    operation = f"{case.method.upper()} {case.path}"
    if errors and all(_explained(error, case, operation) for error in errors):
        return False
    return True
