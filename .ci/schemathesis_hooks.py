"""schemathesis hooks for CI (.ci/run step d): a client that plays by the contract's rules
for server state that no schema can describe.

1. Idempotency-Key: a client uses a fresh key for every distinct request (API.md: the
   same key with another body is `422 idempotency_key_reused`). schemathesis draws keys
   from a small space ("0", the documented example, ...) and reuses them across bodies,
   so a schema-valid key gets a unique suffix before the request is sent (its length
   and alphabet stay schema-valid; invalid keys are left alone, so the negative cases
   still test the header).

2. Values that are well formed but name server state the run cannot know get the
   contract's `422` with their pointer. For those, and only when every error in the
   answer is one of them, the `positive_data_acceptance` failure is dropped:
   - `invalid_cursor`: a cursor the server did not issue (issued cursors are tracked
     from the answers; a refused issued cursor still fails the run);
   - `invalid_token`: password-reset and verification tokens, which only mails carry;
   - `invalid_credentials`: a wrong `password` / `current_password` inside an
     authenticated request (the run does not know the operator's password);
   - `grantee_not_found`: a login or email address no account has;
   - `webhook_url_refused`: a host that does not resolve to public addresses (the
     network's state, checked on the address actually connected to);
   - `domain_not_on_service`: an address on a domain the service does not have.
   And refusals that JSON Schema cannot state, each for one field's content:
   - `password_too_common`: one of the 30,000 most common passwords;
   - `invalid_iban`, `invalid_vat_id`, `vat_id_country_mismatch`: check digits (ISO
     13616 MOD 97, each country's VAT number algorithm) and the seller's country;
   - `expires_before_suspension`: one field compared with another.
   HEAD answers have no body: the same request is repeated as GET to read the codes.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from urllib.parse import parse_qs, urlsplit

import requests
import schemathesis

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
STATE_CODES = frozenset(
    {
        "invalid_cursor",
        "invalid_token",
        "invalid_credentials",
        "grantee_not_found",
        "webhook_url_refused",
        "domain_not_on_service",
        "password_too_common",
        "invalid_iban",
        "invalid_vat_id",
        "vat_id_country_mismatch",
        "expires_before_suspension",
    }
)

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


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if getattr(failure, "code", None) != "ST202" or response.status_code != 422:
        return True
    problem = _problem(response)
    if problem is None:
        return True
    errors = problem.get("errors") or []
    codes = {error.get("code") for error in errors}
    if not errors or not codes <= STATE_CODES:
        return True
    if "invalid_cursor" in codes:
        cursors = parse_qs(urlsplit(response.request.url).query).get("cursor", [])
        with _lock:
            if any(cursor in _issued_cursors for cursor in cursors):
                return True
    return False
