"""API Gateway REST proxy events, built as API Gateway builds them (and DynamoDB stream events, as Lambda
builds them for a function fed by a table's stream).

One builder serves the local runtime (a real HTTP request in, the event out), the checked-in
events/*.json (generated from it by `python -m local_runtime.events`) and the tests.
"""

from __future__ import annotations

import base64
import json
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = ROOT / "events"
DEMO_ACCOUNT = "5f0c2a1e-7d2b-4c61-9a8e-3b1f2d4c6e80"
DEMO_USERNAME = "demo@example.com"
# The demo data's app and SMTP server (local_runtime.demo seeds them): the ids the sample events name.
DEMO_APP_ID = "6741f0a2c3d4e5f6a7b8c9d0"
DEMO_SMTP_ID = "6741f0b7d1e2f3a4b5c6d7e8"
# An app of the demo account that is gone (no item: removed before the demo data was made). The apps
# cleanup's sample REMOVE names it, as a real stream only ever names a deleted app: `sam local invoke` with
# it asks the index for that app's servers, finds none (what nearly every removal finds) and changes nothing.
# With the demo app's id instead, it deleted the demo servers of an app that still exists.
GONE_APP_ID = "6741f0a2c3d4e5f6a7b8c9df"
# The demo data's e-mail (queued, to be sent a year from when the demo data was made): the e-mail sample
# events name. Info and the log find it, cancel cancels it, remove then removes it.
DEMO_EMAIL_ID = "6741f1c2a3b4c5d6e7f8a9b0"


def build_event(
    method: str,
    resource: str,
    *,
    stage: str = "api",
    headers: Sequence[tuple[str, str]] = (),
    query: Sequence[tuple[str, str]] = (),
    body: bytes | None = None,
    authorizer: Mapping[str, Any] | None = None,
    source_ip: str = "127.0.0.1",
    request_id: str | None = None,
    binary: bool = False,
) -> dict[str, Any]:
    """The event API Gateway sends a Lambda proxy integration for one request.

    Headers and query keep every value in the multi-value maps and the last one in the single-value
    maps, as API Gateway does. A body arrives base64-encoded when `binary` (its Content-Type is one of the
    API's BinaryMediaTypes: `is_binary`), and when it is not valid UTF-8 text.
    """
    now = time.time()
    request_id = request_id or str(uuid.uuid4())
    single_headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        single_headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    single_query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        single_query[name] = value
        multi_query.setdefault(name, []).append(value)
    text: str | None = None
    encoded = False
    if body:
        try:
            text = None if binary else body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None:
            text, encoded = base64.b64encode(body).decode("ascii"), True
    user_agent = single_headers.get("User-Agent") or next(
        (value for name, value in single_headers.items() if name.lower() == "user-agent"), None
    )
    context: dict[str, Any] = {
        "resourceId": "local",
        "resourcePath": resource,
        "httpMethod": method,
        "extendedRequestId": request_id.replace("-", "")[:16] + "=",
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "path": f"/{stage}{resource}",
        "accountId": "123456789012",
        "protocol": "HTTP/1.1",
        "stage": stage,
        "domainPrefix": "localhost",
        "requestTimeEpoch": int(now * 1000),
        "requestId": request_id,
        "identity": {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "sourceIp": source_ip,
            "principalOrgId": None,
            "accessKey": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": user_agent,
            "user": None,
        },
        "domainName": "localhost",
        "deploymentId": "local",
        "apiId": "local",
    }
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    return {
        "resource": resource,
        "path": resource,
        "httpMethod": method,
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": context,
        "body": text,
        "isBase64Encoded": encoded,
    }


def is_binary(content_type: str | None, binary_media_types: Sequence[str]) -> bool:
    """Whether API Gateway hands a body of this Content-Type to the function base64-encoded: its media type
    (parameters aside) matches one of the API's BinaryMediaTypes (as the template writes them, `~1` for `/`;
    `*` a wildcard, as in `image/*` or `*/*`)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if not media:
        return False
    kind, _, sub = media.partition("/")
    for pattern in binary_media_types:
        want_kind, _, want_sub = str(pattern).replace("~1", "/").lower().partition("/")
        if want_kind in ("*", kind) and want_sub in ("*", sub):
            return True
    return False


def method_arn(
    method: str,
    resource: str,
    *,
    stage: str = "api",
    region: str = "us-east-1",
    account: str = "123456789012",
    api_id: str = "local",
) -> str:
    """The ARN API Gateway names a route by when it asks an authorizer (arn:...:api-id/stage/METHOD/path)."""
    return f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{method.upper()}{resource}"


def build_token_authorizer_event(authorization: str, arn: str) -> dict[str, Any]:
    """The event API Gateway sends a TOKEN authorizer: the Authorization header and the route's ARN."""
    return {"type": "TOKEN", "authorizationToken": authorization, "methodArn": arn}


def build_stream_record(
    event_name: str,
    keys: Mapping[str, Any],
    sequence_number: str,
    *,
    stream_arn: str,
    region: str = "us-east-1",
    event_id: str | None = None,
    created: float | None = None,
    view_type: str = "KEYS_ONLY",
    images: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One record of the DynamoDB stream event Lambda sends a function (`keys`, and `images` when the view
    type has them: {"NewImage": ..., "OldImage": ...}, in attribute-value form)."""
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": float(int(created if created is not None else time.time())),
        "Keys": dict(keys),
        "SequenceNumber": sequence_number,
        "SizeBytes": len(json.dumps([keys, images or {}])) + 10,
        "StreamViewType": view_type,
    }
    dynamodb.update(images or {})
    return {
        "eventID": event_id or uuid.uuid4().hex,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def build_stream_event(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The event Lambda sends a function fed by a DynamoDB stream: {"Records": [...]}."""
    return {"Records": [dict(record) for record in records]}


def stream_arn(table: str, label: str = "2026-11-24T10:00:00.000", region: str = "us-east-1") -> str:
    return f"arn:aws:dynamodb:{region}:123456789012:table/{table}/stream/{label}"


def demo_authorizer(account: str = DEMO_ACCOUNT, username: str = DEMO_USERNAME) -> dict[str, Any]:
    """requestContext.authorizer as API Gateway passes a TOKEN authorizer's result."""
    return {"principalId": account, "accountId": account, "username": username, "integrationLatency": 0}


# The sample request of each function, written to events/<function>.json.
_FORM = ("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
_APP = DEMO_APP_ID
_SMTP = DEMO_SMTP_ID
_EMAIL = DEMO_EMAIL_ID
# A tracking token of no key (refused): payload ["o", "6741f0c9e8d7c6b5a4f3e2d1", 1800000000,
# "a@example.net", null], then a signature.
_LINK_T = (
    "WyJvIiwiNjc0MWYwYzllOGQ3YzZiNWE0ZjNlMmQxIiwxODAwMDAwMDAwLCJhQGV4YW1wbGUubmV0IixudWxsXQ.c2lnbmF0dXJl"
)
SAMPLES: dict[str, dict[str, Any]] = {
    "smtps_save": {
        "method": "POST",
        "resource": "/private/smtps/save",
        "body": (
            f"idapp={_APP}&priority=10&host=smtp.example.net&port=587&username=user%40example.net"
            "&password=smtp-password-1234&auth=true&starttls=true&sslTls=false&debug=false"
            "&defaultfromemail=info%40example.net&defaultfromname=Info"
        ),
    },
    "smtps_find_by_app": {
        "method": "GET",
        "resource": "/private/smtps/findByApp",
        "query": [("idapp", _APP)],
    },
    "smtps_find_by_id": {
        "method": "GET",
        "resource": "/private/smtps/findById",
        "query": [("idsmtp", _SMTP)],
    },
    "smtps_remove": {"method": "POST", "resource": "/private/smtps/remove", "body": f"idsmtp={_SMTP}"},
    "smtps_check": {"method": "POST", "resource": "/private/smtps/check", "body": f"idsmtp={_SMTP}"},
    "smtps_history": {
        "method": "GET",
        "resource": "/private/smtps/history",
        "query": [("idsmtp", _SMTP), ("limit", "20")],
    },
    "apps_save": {
        "method": "POST",
        "resource": "/private/apps/save",
        "body": (
            "name=My+shop&testemail=ops%40example.net&defaultfromemail=noreply%40example.net&strategy=PRIORITY"
        ),
    },
    "apps_find_all": {
        "method": "GET",
        "resource": "/private/apps/findAll",
        "query": [("page", "0"), ("size", "20")],
    },
    "apps_find_by_id": {"method": "GET", "resource": "/private/apps/findById", "query": [("idapp", _APP)]},
    "apps_remove": {"method": "POST", "resource": "/private/apps/remove", "body": f"idapp={_APP}"},
    "emails_send": {
        "method": "POST",
        "resource": "/private/emails/send",
        "body": (
            f"idapp={_APP}&tos=inbox%40example.com&tonames=Demo+inbox&subject=Hello+from+smtp-hub"
            "&body=A+first+e-mail%2C+through+the+demo+app%27s+server.&mimetype=text%2Fplain"
        ),
    },
    "emails_info": {"method": "GET", "resource": "/private/emails/info", "query": [("idemail", _EMAIL)]},
    "emails_cancel": {"method": "POST", "resource": "/private/emails/cancel", "body": f"idemail={_EMAIL}"},
    "emails_remove": {"method": "POST", "resource": "/private/emails/remove", "body": f"idemail={_EMAIL}"},
    "logs_find_by_email": {
        "method": "GET",
        "resource": "/private/logs/findByEMail",
        "query": [("idemail", _EMAIL)],
    },
    "blacklist_add": {
        "method": "POST",
        "resource": "/private/blacklist/add",
        "body": f"idapp={_APP}&email=unsubscribed%40example.org",
    },
    "blacklist_find_by_app": {
        "method": "GET",
        "resource": "/private/blacklist/findByApp",
        "query": [("idapp", _APP), ("page", "0"), ("size", "20")],
    },
    "blacklist_is_black_listed": {
        "method": "GET",
        "resource": "/private/blacklist/isBlackListed",
        "query": [("idapp", _APP), ("email", "unsubscribed@example.org")],
    },
    "blacklist_remove": {
        "method": "POST",
        "resource": "/private/blacklist/remove",
        "body": f"idapp={_APP}&email=unsubscribed%40example.org",
    },
    "tracking_find_by_email": {
        "method": "GET",
        "resource": "/private/tracking/findByEMail",
        "query": [("idemail", _EMAIL)],
    },
    # The public routes' tokens are signed with the stack's key: this one is refused (a pixel all the same).
    "tracking_open": {
        "method": "GET",
        "resource": "/public/tracking/open",
        "query": [("t", _LINK_T)],
        "public": True,
    },
    "tracking_click": {
        "method": "GET",
        "resource": "/public/tracking/click",
        "query": [("t", _LINK_T)],
        "public": True,
    },
    "blacklist_unsubscribe": {
        "method": "GET",
        "resource": "/public/blacklist/unsubscribe",
        "query": [("t", _LINK_T)],
        "public": True,
    },
    "auth_logout": {"method": "POST", "resource": "/private/auth/logout"},
    "auth_login": {
        "method": "POST",
        "resource": "/auth/login",
        "body": f"username={DEMO_USERNAME.replace('@', '%40')}&password=Demo-password-1%21",
        "public": True,  # no Authorization header, no authorizer context
    },
}
_SAMPLE_TOKEN = "eyJraWQiOiJsb2NhbCIsImFsZyI6IlJTMjU2In0.e30.c2lnbmF0dXJl"  # noqa: S105 - a placeholder, not a secret  # nosec B105


def sample_event(function: str) -> dict[str, Any]:
    sample = SAMPLES[function]
    public = sample.get("public", False)
    headers = [
        ("Accept", "application/json"),
        *([] if public else [("Authorization", f"Bearer {_SAMPLE_TOKEN}")]),
        ("Host", "localhost:3000"),
        ("User-Agent", "Java-http-client/17.0.15"),
    ]
    body = sample.get("body")
    if body is not None:
        headers.append(_FORM)
    return build_event(
        sample["method"],
        sample["resource"],
        headers=headers,
        query=sample.get("query", ()),
        body=body.encode() if body is not None else None,
        authorizer=None if public else demo_authorizer(),
        request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    )


def main() -> int:
    """Write events/<function>.json for every sample (stable fields, so the files only change on purpose)."""
    EVENTS_DIR.mkdir(exist_ok=True)
    for function in SAMPLES:
        event = sample_event(function)
        context = event["requestContext"]
        context.update(requestTime="24/Nov/2026:10:00:00 +0000", requestTimeEpoch=1795514400000)
        (EVENTS_DIR / f"{function}.json").write_text(json.dumps(event, indent=2) + "\n")
    authorizer = build_token_authorizer_event(
        f"Bearer {_SAMPLE_TOKEN}", method_arn("GET", "/private/smtps/findById", api_id="a1b2c3d4e5")
    )
    (EVENTS_DIR / "authorizer.json").write_text(json.dumps(authorizer, indent=2) + "\n")
    (EVENTS_DIR / "secrets_cleanup.json").write_text(json.dumps(sample_stream_event(), indent=2) + "\n")
    (EVENTS_DIR / "apps_cleanup.json").write_text(json.dumps(sample_apps_stream_event(), indent=2) + "\n")
    from local_runtime import health_events  # noqa: PLC0415

    # The sender's: SendQueue's batch of one `{idemail, turn}`; the sending sweep's schedule (empty).
    send = health_events.sqs_record(
        '{"idemail":"6741f0c3d4e5f6a7b8c9d0e1","turn":0}',
        "1b2c3d4e-5f60-4718-9a2b-3c4d5e6f7081",
        1795514400000,
        queue_arn="arn:aws:sqs:us-east-1:123456789012:smtp-hub-send",
    )
    for name, event in (("health_sweep", health_events.schedule_event()),
                        ("health_worker", health_events.sample_worker_event(_SMTP)),
                        ("emails_sender", health_events.sqs_event([send])),
                        ("emails_sweep", health_events.schedule_event()),
                        ("emails_outcomes", sample_outcome_event()),
                        ("webhooks_sender", sample_webhook_event())):  # fmt: skip
        (EVENTS_DIR / f"{name}.json").write_text(json.dumps(event, indent=2) + "\n")
    return 0


def sample_stream_event() -> dict[str, Any]:
    """SmtpsTable's stream as SecretsCleanupFunction gets it: one SMTP server removed (NEW_AND_OLD_IMAGES:
    a REMOVE carries the record as it was, which names secret versions but holds no secret)."""
    removed = {
        "_id": {"S": _SMTP},
        "idapp": {"S": _APP},
        "iduser": {"S": DEMO_ACCOUNT},
        "host": {"S": "smtp.example.net"},
        "port": {"N": "587"},
        "created": {"S": "2026-11-24T09:00:00.000Z"},
        "modified": {"S": "2026-11-24T09:30:00.000Z"},
        "version": {"N": "2"},
        "secretVersion": {"S": "5b0f4c1e-3d2a-4e6f-8a9b-0c1d2e3f4a5b"},
    }
    record = build_stream_record(
        "REMOVE",
        {"_id": {"S": _SMTP}},
        "4421584500000000017450439091",
        stream_arn=stream_arn("smtp-hub-SmtpsTable-1A2B3C4D5E6F"),
        event_id="c81e728d9d4c2f636f067f89cc14862c",
        created=1795514400.0,
        view_type="NEW_AND_OLD_IMAGES",
        images={"OldImage": removed},
    )
    return build_stream_event([record])


def sample_apps_stream_event() -> dict[str, Any]:
    """AppsTable's stream as AppsCleanupFunction gets it: one app removed (KEYS_ONLY), one that is gone."""
    record = build_stream_record(
        "REMOVE",
        {"iduser": {"S": DEMO_ACCOUNT}, "_id": {"S": GONE_APP_ID}},
        "4421584500000000017450439092",
        stream_arn=stream_arn("smtp-hub-AppsTable-6F5E4D3C2B1A"),
        event_id="eccbc87e4b5ce2fe28308fd9f2a7baf3",
        created=1795514400.0,
    )
    return build_stream_event([record])


# An e-mail of the demo app (the sample events name it; no such e-mail is stored).
SAMPLE_EMAIL_ID = "6741f1c4e5f6a7b8c9d0e1f2"


def sample_outcome_event() -> dict[str, Any]:
    """EmailsTable's stream as EmailsOutcomesFunction gets it: an e-mail of the demo app finished (R -> F)."""
    email = {
        "_id": {"S": SAMPLE_EMAIL_ID},
        "idapp": {"S": _APP},
        "iduser": {"S": DEMO_ACCOUNT},
        "from": {"S": "shop@example.com"},
        "tos": {"L": [{"S": "inbox@example.com"}]},
        "created": {"S": "2026-11-24T09:59:58.000Z"},
        "modified": {"S": "2026-11-24T10:00:00.000Z"},
        "turn": {"N": "1"},
    }
    images = {
        "OldImage": {**email, "status": {"S": "R"}, "lease": {"N": "1795514520"}},
        "NewImage": {**email, "status": {"S": "F"}, "finishtime": {"S": "2026-11-24T10:00:00.000Z"}},
    }
    record = build_stream_record(
        "MODIFY",
        {"_id": {"S": SAMPLE_EMAIL_ID}},
        "4421584500000000017450439093",
        stream_arn=stream_arn("smtp-hub-EmailsTable-0A1B2C3D4E5F"),
        event_id="a87ff679a2f3e71d9181a67b7542122c",
        created=1795514400.0,
        view_type="NEW_AND_OLD_IMAGES",
        images=images,
    )
    return build_stream_event([record])


def sample_webhook_event() -> dict[str, Any]:
    """WebhookQueue's batch as WebhooksSenderFunction gets it: one delivery of that e-mail's
    sending_finished (the demo app has no webhook URL: it is dropped)."""
    from local_runtime import health_events  # noqa: PLC0415

    body = json.dumps(
        {
            "idevent": "3c59dc048e8850243be8079a5c74d079",
            "idapp": _APP,
            "iduser": DEMO_ACCOUNT,
            "event": "sending_finished",
            "params": {"qm_idsending": SAMPLE_EMAIL_ID},
            "fired": 1795514400,
            "attempts": 0,
            "due": 0,
        },
        separators=(",", ":"),
    )
    record = health_events.sqs_record(body, "6f4922f4-5568-461a-8a5d-c1cbf5c0e9a1", 1795514400000)
    record["eventSourceARN"] = "arn:aws:sqs:us-east-1:123456789012:smtp-hub-webhooks"
    return health_events.sqs_event([record])


if __name__ == "__main__":
    sys.exit(main())
