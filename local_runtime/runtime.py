"""The whole stack on loopback, from template.yaml: API, functions, authorizers, AWS (moto), SMTP sink."""

from __future__ import annotations

import errno
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from local_runtime import demo, queues, say, scheduler, template, token_endpoint
from local_runtime.authorizer import TokenAuthorizer
from local_runtime.cfn import Resolver, TemplateError
from local_runtime.events import DEMO_ACCOUNT, DEMO_USERNAME, build_event, demo_authorizer
from local_runtime.functions import DEFAULT_CONCURRENCY, ExecutionEnvironments, LocalFunction, concurrency_of
from local_runtime.gateway import GatewayResponses, Throttle
from local_runtime.moto_backend import FAKE_CREDENTIALS, Account, MotoBackend
from local_runtime.server import ApiRoute, Gateway, LocalHttpServer, Stage, proxy_reply
from local_runtime.sink import PortInUse, SmtpSink
from local_runtime.streams import StreamPoller, StreamPumps

DEMO_PASSWORD = "Demo-password-1!"  # noqa: S105 - the local demo account's, printed in the banner  # nosec B105
DEMO_INBOX = "inbox@example.com"
IMPLICIT_API = "ServerlessRestApi"
# Never handed to the functions: the runtime's own settings (LOCAL_USERS holds passwords) and anything
# that could point boto3 at a real account.
_HIDDEN = (
    "LOCAL_USERS",
    "PORT",
    "SMTP_SINK_PORT",
    "CHECKS_PER_MINUTE",
    "LOCAL_CONCURRENCY",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
)
# What the local runtime changes for every function (as the issues ask: private SMTP addresses allowed; no DNS
# checks on a send, whose machine may have no resolver).
LOCAL_ENVIRONMENT = {"ALLOW_PRIVATE_ADDRESSES": "true", "DNS_CHECKS": "false"}
# The template parameter the runtime's CHECKS_PER_MINUTE setting stands for (a --parameter wins over it).
CHECKS_PER_MINUTE_PARAMETER = "CheckRateLimitPerMinute"


def parse_users(text: str) -> list[tuple[str, str]]:
    """LOCAL_USERS: "user:password,user2:password2" (a password may contain ':' but not ',')."""
    users = []
    for item in text.split(","):
        if not item.strip():
            continue
        username, sep, password = item.strip().partition(":")
        if not sep or not username or not password:
            raise ValueError(f"LOCAL_USERS entry {username or item!r} must be user:password")
        users.append((username, password))
    return users


@dataclass
class Settings:
    template_path: Path = template.TEMPLATE
    host: str = "127.0.0.1"
    port: int = 3000
    sink_port: int = 2525
    users: Sequence[tuple[str, str]] = ()
    parameters: Mapping[str, str] = field(default_factory=dict)
    quiet: bool = False
    aws_port: int = 0  # the embedded AWS (moto): 0 any free port, `make aws` a fixed one
    checks_per_minute: int | None = None  # CHECKS_PER_MINUTE: an account's SMTP checks per minute
    concurrency: int = DEFAULT_CONCURRENCY  # LOCAL_CONCURRENCY: execution environments per function


@dataclass
class Seeded:
    account: str
    idapp: str
    idsmtp: str
    idsmtp_xoauth2: str | None = None  # the sink again, with XOAUTH2 (local_runtime.token_endpoint)


class LocalRuntime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.document = template.load(settings.template_path)
        self.base_dir = settings.template_path.resolve().parent
        self.warnings: list[str] = []
        self.resolver = Resolver(self.document, parameters=self._parameters(settings))
        self.aws = MotoBackend(settings.host, settings.aws_port)
        self.sink = SmtpSink(settings.host, settings.sink_port)
        self.tokens = token_endpoint.DemoTokenEndpoint(settings.host, self.sink)  # XOAUTH2 on loopback
        self.http: LocalHttpServer | None = None
        self.functions: dict[str, LocalFunction] = {}
        self.stages: list[Stage] = []
        self.accounts: list[Account] = []
        self.demo: Account | None = None
        self.seeded: Seeded | None = None
        self.load_errors: dict[str, str] = {}
        self.streams = StreamPumps([])
        self.environments = ExecutionEnvironments()
        self.schedule: scheduler.Schedule | None = None  # the template's (local_runtime.scheduler)

    def _parameters(self, settings: Settings) -> dict[str, str]:
        """The template parameters: --parameter values, and CHECKS_PER_MINUTE's unless one was given."""
        parameters = scheduler.local_parameters(settings.parameters, self.document, os.environ)
        if settings.checks_per_minute is not None:
            if CHECKS_PER_MINUTE_PARAMETER not in self.document.get("Parameters", {}):
                self.warnings.append(
                    f"CHECKS_PER_MINUTE ignored: the template has no {CHECKS_PER_MINUTE_PARAMETER}"
                )
            else:
                parameters.setdefault(CHECKS_PER_MINUTE_PARAMETER, str(settings.checks_per_minute))
        return parameters

    @property
    def checks_per_minute(self) -> int | None:
        """What the check function is given (the template's default, or CHECKS_PER_MINUTE, or --parameter)."""
        if CHECKS_PER_MINUTE_PARAMETER not in self.document.get("Parameters", {}):
            return None
        try:
            return int(self.resolver.parameter(CHECKS_PER_MINUTE_PARAMETER))
        except ValueError:  # a --parameter that is not a number: the check function will say so
            return None

    # --- start and stop ------------------------------------------------------------------------------
    def start(self) -> None:
        """Bind the ports first (a taken port fails fast), then AWS, functions, accounts, and serve."""
        # First of all, while this process has one thread and no socket: the functions' processes are
        # forked from a copy of it (local_runtime.worker).
        self.environments.start()
        try:
            self.http = LocalHttpServer((self.settings.host, self.settings.port), quiet=self.settings.quiet)
        except OSError as error:
            self.environments.stop()
            if error.errno == errno.EADDRINUSE:
                raise PortInUse("API", self.settings.host, self.settings.port) from None
            raise RuntimeError(
                f"cannot listen on {self.settings.host}:{self.settings.port}: {error}"
            ) from None
        try:
            self.tokens.start()  # before the functions copy this environment: the way to it
            self.sink.start()
            self.aws.start()
            self._isolate_environment()
            self.aws.create_resources(self.document, self.resolver)
            queues.create_queues(self.aws.client("sqs"), self.document, self.resolver)
            self._add_layers()
            self.functions = self._functions()
            self.stages = self._stages()
            self._load_handlers()
            self.streams = StreamPumps(self._stream_pollers())
            self.streams.start()
            self.schedule = scheduler.for_runtime(self, os.environ)
            self.schedule.start()
            self._accounts()
        except BaseException:
            self.stop()
            raise
        self.http.gateway = Gateway(self.stages)
        self.http.start()

    def stop(self) -> None:
        if self.http is not None:
            self.http.stop()
            self.http = None
        self.streams.stop()
        if self.schedule is not None:
            self.schedule.stop()
        for function in self.functions.values():
            function.stop()
        self.environments.stop()
        self.sink.stop()
        self.tokens.stop()
        self.aws.stop()

    @property
    def port(self) -> int:
        return self.http.port if self.http else self.settings.port

    @property
    def base_url(self) -> str:
        stage = self.stages[0].name if self.stages else "api"
        return f"http://{self.settings.host}:{self.port}/{stage}"

    # --- building ------------------------------------------------------------------------------------
    def _isolate_environment(self) -> None:
        """This process and its functions talk to moto only, with fake credentials."""
        for name in list(os.environ):
            if name in _HIDDEN or name.startswith("AWS_ENDPOINT_URL_"):
                del os.environ[name]
        os.environ.update(FAKE_CREDENTIALS)
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.aws.endpoint,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            }
        )

    def _add_layers(self) -> None:
        for name, layer in template.resources(self.document, "AWS::Serverless::LayerVersion").items():
            content = self.base_dir / str(self.resolver.resolve(layer["Properties"].get("ContentUri", name)))
            for folder in (content, content / "python"):
                if folder.is_dir() and str(folder) not in sys.path:
                    sys.path.insert(0, str(folder))

    def _functions(self) -> dict[str, LocalFunction]:
        base = dict(os.environ)
        # The way to moto wins over the template's (empty when deployed) AWS_ENDPOINT_URL.
        extra = {**LOCAL_ENVIRONMENT, "AWS_ENDPOINT_URL": self.aws.endpoint}
        # The links of tracked e-mails point here, not at the template's execute-api URL (PublicBaseUrl).
        extra["PUBLIC_BASE_URL"] = f"http://{self.settings.host}:{self.port}/{self._stage_name()}"
        if self.aws.jwks_url:
            extra["JWKS_URL"] = self.aws.jwks_url  # the authorizer fetches moto's keys, not AWS's
        found = {}
        for name, spec in template.functions(self.document).items():
            environment = {
                key: _env_value(value) for key, value in self.resolver.resolve(spec.environment).items()
            }
            found[name] = LocalFunction(
                name,
                str(self.resolver.ref(name)),
                (self.base_dir / spec.code_uri).resolve(),
                spec.handler,
                {**base, **environment, **extra},
                timeout=spec.timeout,
                memory=spec.memory,
                environments=self.environments,
                concurrency=concurrency_of(self._properties(name), self.settings.concurrency),
            )
        return found

    def _stage_name(self) -> str:
        """The stage the first API serves (as `base_url` names it once the stages are built)."""
        apis = sorted({route.api or IMPLICIT_API for route in template.routes(self.document)})
        first = apis[0] if apis else IMPLICIT_API
        return str(self._api_properties(None if first == IMPLICIT_API else first).get("StageName", "api"))

    def _properties(self, function: str) -> dict[str, Any]:
        """The function's ReservedConcurrentExecutions, resolved (the only property read here)."""
        properties = self.document["Resources"][function].get("Properties", {})
        wanted = {key: properties[key] for key in ("ReservedConcurrentExecutions",) if key in properties}
        resolved: dict[str, Any] = self.resolver.resolve(wanted)
        return resolved

    def _stream_pollers(self) -> list[StreamPoller]:
        """A poller per function fed by a table's stream, as its event source mapping would feed it."""
        pollers = []
        client = self.aws.client("dynamodbstreams")
        log = None if self.settings.quiet else say
        for source in template.stream_sources(self.document):
            arn = self.resolver.attributes.get((source.table, "StreamArn"))
            if arn is None or source.function not in self.functions:
                self.warnings.append(
                    f"{source.name}: {source.table} has no stream locally (StreamSpecification?)"
                )
                continue
            properties = self.resolver.resolve(source.properties)
            if properties.get("Enabled", True) in (False, "false"):
                continue
            function = self.functions[source.function]
            pollers.append(
                StreamPoller(
                    f"{source.table} -> {source.function}",
                    client,
                    arn,
                    scheduler.invoker(function),
                    properties,
                    log=log,
                )
            )
        return pollers

    def _api_properties(self, api: str | None) -> dict[str, Any]:
        globals_api = self.document.get("Globals", {}).get("Api", {})
        resource = self.document["Resources"].get(api or "", {})
        props: dict[str, Any] = self.resolver.resolve({**globals_api, **resource.get("Properties", {})})
        if api is None:
            props.setdefault("StageName", "Prod")
        return props

    def _authorizers(self, api: str, props: Mapping[str, Any]) -> dict[str, TokenAuthorizer]:
        arns = {self.resolver.get_att(name, "Arn"): name for name in self.functions}
        found = {}
        for name, spec in (props.get("Auth", {}).get("Authorizers") or {}).items():
            if "UserPoolArn" in spec:
                raise TemplateError(f"{api}: Cognito authorizer {name} is not emulated (Lambda TOKEN only)")
            if str(spec.get("FunctionPayloadType", "TOKEN")).upper() != "TOKEN":
                raise TemplateError(f"{api}: authorizer {name}: only TOKEN authorizers are emulated")
            function = arns.get(str(spec.get("FunctionArn")))
            if function is None:
                raise TemplateError(
                    f"{api}: authorizer {name}: FunctionArn names no function of the template"
                )
            identity = spec.get("Identity") or {}
            found[name] = TokenAuthorizer(
                name,
                self.functions[function],
                header=str(identity.get("Header", "Authorization")),
                validation=identity.get("ValidationExpression"),
                ttl=int(identity.get("ReauthorizeEvery", 300)),
            )
        return found

    def _stages(self) -> list[Stage]:
        routes = template.routes(self.document)
        response_resources: dict[str, list[dict[str, Any]]] = {}
        for resource in template.resources(self.document, "AWS::ApiGateway::GatewayResponse").values():
            props = self.resolver.resolve(resource["Properties"])
            response_resources.setdefault(str(props.get("RestApiId")), []).append(props)
        stages = []
        for api in sorted({route.api or IMPLICIT_API for route in routes}):
            api_id = None if api == IMPLICIT_API else api
            props = self._api_properties(api_id)
            authorizers = self._authorizers(api, props)
            default = props.get("Auth", {}).get("DefaultAuthorizer")
            api_routes, public = [], set()
            for route in (r for r in routes if (r.api or IMPLICIT_API) == api):
                name = route.authorizer or default
                if route.authorizer == "NONE":
                    name = None
                    public.add((route.method, route.path))
                if name is not None and name not in authorizers:
                    raise TemplateError(f"{route.function}: unknown authorizer {name}")
                api_routes.append(
                    ApiRoute(
                        route.method,
                        route.path,
                        self.functions[route.function],
                        authorizers[name] if name is not None else None,
                    )
                )
            responses = GatewayResponses.from_api(props.get("GatewayResponses")).merged(
                GatewayResponses.from_resources(response_resources.get(str(self.resolver.ref(api)), []))
            )
            fallback = demo_authorizer() if not authorizers else None
            stage = Stage(
                str(props["StageName"]),
                api_routes,
                responses,
                Throttle(props.get("MethodSettings")),
                fallback_identity=fallback,
                public=public,
                binary_media_types=props.get("BinaryMediaTypes") or (),
            )
            stages.append(stage)
        return stages

    def _load_handlers(self) -> None:
        """A handler that cannot load shows at start (each imports on its first call, in its own process)."""
        for name, function in self.functions.items():
            try:
                function.check()
            except Exception as error:
                self.load_errors[name] = f"{type(error).__name__}: {error}"

    # --- accounts and demo data ----------------------------------------------------------------------
    def _accounts(self) -> None:
        if self.aws.user_pool_id is None:
            if self.settings.users:
                self.warnings.append("LOCAL_USERS ignored: the template declares no user pool")
            self.seeded = self._seed(DEMO_ACCOUNT, DEMO_USERNAME)
            return
        if self.settings.users:
            for user, password in self.settings.users:
                try:
                    self.accounts.append(self.aws.create_account(user, password))
                except Exception as error:  # moto's answer, e.g. a password the pool's policy refuses
                    message = getattr(error, "response", {}).get("Error", {}).get("Message") or error
                    raise RuntimeError(f"LOCAL_USERS: cannot create {user}: {message}") from None
            return
        self.demo = self.aws.create_account(DEMO_USERNAME, DEMO_PASSWORD, DEMO_ACCOUNT)
        self.accounts = [self.demo]
        self.seeded = self._seed(self.demo.account_id, self.demo.username)

    def call(self, method: str, path: str, params: Mapping[str, Any], authorizer: Mapping[str, Any]) -> Any:
        """Invoke the function behind `method path` directly (no HTTP, no authorizer): the seeding path."""
        for stage in self.stages:
            route, _ = stage.match(method, path)
            if route is None:
                continue
            form = urlencode({k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()})
            event = build_event(
                method,
                route.resource,
                stage=stage.name,
                headers=[("Content-Type", "application/x-www-form-urlencoded")],
                body=form.encode(),
                authorizer=authorizer,
            )
            reply = proxy_reply(route.function.invoke(event).value)
            if reply is None or reply.status != 200:
                detail = reply.body.decode() if reply else "no answer"
                raise RuntimeError(f"seeding {method} {path} failed: {detail}")
            return json.loads(reply.body) if reply.body else None
        return None

    def _seed(self, account: str, username: str) -> Seeded | None:
        """The demo account's app (test mails go to DEMO_INBOX) and an SMTP server pointing at the sink,
        under the fixed ids the sample events name (local_runtime.demo), when the template saves apps."""
        route = next((r for s in self.stages if (r := s.match("POST", "/private/apps/save")[0])), None)
        if route is None:
            return None
        environment = route.function.environment
        tables = (environment["APPS_TABLE"], environment["SMTPS_TABLE"], environment["ACCOUNTS_TABLE"])
        sink = (self.sink.host, self.sink.port)
        idapp, idsmtp = demo.seed(self.aws.client("dynamodb"), tables, account, sink, DEMO_INBOX)
        identity = demo_authorizer(account, username)
        xoauth2 = token_endpoint.seed(self.call, identity, idapp, self.sink, self.tokens.url, self.warnings)
        return Seeded(account, idapp, idsmtp, xoauth2)

    # --- what a person sees --------------------------------------------------------------------------
    def routes(self) -> list[tuple[str, str, str]]:
        """(method, URL path, protection) of every served route."""
        found = []
        for stage in self.stages:
            for route in sorted(stage.routes, key=lambda r: (r.resource, r.method)):
                if route.authorizer is not None:
                    protection = f"authorizer {route.authorizer.name}"
                elif (
                    stage.fallback_identity is not None and (route.method, route.resource) not in stage.public
                ):
                    protection = "demo identity (no authorizer in the template)"
                else:
                    protection = "public"
                found.append((route.method, f"/{stage.name}{route.resource}", protection))
        return found

    def has_route(self, method: str, path: str) -> bool:
        return any(stage.match(method, path)[0] is not None for stage in self.stages)


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)
