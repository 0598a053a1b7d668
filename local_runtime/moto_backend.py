"""AWS on loopback: an embedded moto server with the template's tables, user pools, clients and users."""

from __future__ import annotations

import logging
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from local_runtime import template
from local_runtime.cfn import ACCOUNT_ID, REGION, Resolver
from local_runtime.sink import ensure_free

_MOTO_KEY = "local"  # moto takes any credentials: the SDK needs some, none is a secret
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": _MOTO_KEY,
    "AWS_SECRET_ACCESS_KEY": _MOTO_KEY,
    "AWS_SESSION_TOKEN": _MOTO_KEY,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}
# CloudFormation property names that the API spells differently.
_API_NAMES = {"AWS::Cognito::UserPool": {"UserPoolName": "PoolName"}}


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    account_id: str  # the Cognito `sub`, what the authorizer passes on as accountId


def fit(shape: Any, value: Any) -> Any:  # noqa: PLR0911 - one return per shape type
    """A resolved CloudFormation value shaped for a boto3 parameter: ints from "24", unknown keys dropped."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, Mapping):
            return value
        return {name: fit(shape.members[name], item) for name, item in value.items() if name in shape.members}
    if kind == "list":
        items = value if isinstance(value, list) else [value]
        return [fit(shape.member, item) for item in items]
    if kind == "map":
        return {str(k): fit(shape.value, v) for k, v in value.items()}
    if kind in ("integer", "long"):
        return int(value)
    if kind in ("float", "double"):
        return float(value)
    if kind == "boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind == "string":
        return str(value)
    return value


class MotoBackend:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port  # 0: any free port
        self.endpoint = ""
        self._server: Any = None
        self.user_pool_id: str | None = None
        self.client_id: str | None = None

    def start(self) -> None:
        from moto.server import ThreadedMotoServer  # noqa: PLC0415 - heavy import, only when running

        from local_runtime import moto_transactions  # noqa: PLC0415

        moto_transactions.install()  # transactions that fail leave other writes and the streams alone
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per AWS call
        if self.port:
            ensure_free("AWS", self.host, self.port)  # moto's thread would hang on a taken port, not fail
        server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        self._server = server
        self.endpoint = f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self, service: str) -> Any:
        import boto3  # noqa: PLC0415

        return boto3.session.Session().client(
            service,
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id=_MOTO_KEY,
            aws_secret_access_key=_MOTO_KEY,
        )

    @property
    def jwks_url(self) -> str | None:
        return f"{self.endpoint}/{self.user_pool_id}/.well-known/jwks.json" if self.user_pool_id else None

    # --- resources from the template ----------------------------------------------------------------
    def create_resources(self, document: Mapping[str, Any], resolver: Resolver) -> list[str]:
        """Tables, buckets, then user pools, then their clients; physical ids recorded in the resolver."""
        created = []
        dynamodb = self.client("dynamodb")
        for name, resource in template.resources(dict(document), "AWS::DynamoDB::Table").items():
            if not self._wanted(resource, resolver):
                continue
            props = resolver.resolve(resource.get("Properties", {}))
            table = str(props.get("TableName") or f"{resolver.stack_name}-{name}")
            dynamodb.create_table(**template.table_request({"Properties": props}, table))
            ttl = props.get("TimeToLiveSpecification") or {}
            if ttl.get("Enabled") in (True, "true") and ttl.get("AttributeName"):
                dynamodb.update_time_to_live(
                    TableName=table,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": str(ttl["AttributeName"])},
                )
            resolver.physical[name] = table
            described = dynamodb.describe_table(TableName=table)["Table"]
            resolver.attributes[name, "Arn"] = described["TableArn"]
            if described.get("LatestStreamArn"):
                resolver.attributes[name, "StreamArn"] = described["LatestStreamArn"]
            created.append(f"table {table}")
        s3 = self.client("s3")
        for name, resource in template.resources(dict(document), "AWS::S3::Bucket").items():
            if not self._wanted(resource, resolver):
                continue  # the lifecycle, encryption and policy are not emulated: moto keeps what is put
            props = resolver.resolve(resource.get("Properties", {}))
            bucket = str(props.get("BucketName") or f"{resolver.stack_name}-{name}").lower()
            s3.create_bucket(Bucket=bucket)
            resolver.physical[name] = bucket
            resolver.attributes[name, "Arn"] = f"arn:aws:s3:::{bucket}"
            created.append(f"bucket {bucket}")
        cognito = self.client("cognito-idp")
        for name, resource in template.resources(dict(document), "AWS::Cognito::UserPool").items():
            if not self._wanted(resource, resolver):
                continue
            request = self._request(cognito, "CreateUserPool", resource, resolver)
            request.setdefault("PoolName", f"{resolver.stack_name}-{name}")
            pool = cognito.create_user_pool(**request)["UserPool"]
            resolver.physical[name] = pool["Id"]
            provider = f"cognito-idp.{REGION}.amazonaws.com/{pool['Id']}"
            resolver.attributes.update(
                {
                    (name, "Arn"): pool["Arn"],
                    (name, "ProviderName"): provider,
                    (name, "ProviderURL"): provider,
                }
            )
            self.user_pool_id = self.user_pool_id or pool["Id"]
            created.append(f"user pool {pool['Id']}")
        for name, resource in template.resources(dict(document), "AWS::Cognito::UserPoolClient").items():
            if not self._wanted(resource, resolver):
                continue
            request = self._request(cognito, "CreateUserPoolClient", resource, resolver)
            request.setdefault("ClientName", name)
            client = cognito.create_user_pool_client(**request)["UserPoolClient"]
            resolver.physical[name] = client["ClientId"]
            if client.get("ClientSecret"):
                resolver.attributes[name, "ClientSecret"] = client["ClientSecret"]
            if request["UserPoolId"] == self.user_pool_id:
                self.client_id = self.client_id or client["ClientId"]
            created.append(f"user pool client {client['ClientId']}")
        created += self._generated_secrets(document, resolver)
        return created

    def _generated_secrets(self, document: Mapping[str, Any], resolver: Resolver) -> list[str]:
        """Secrets the template has CloudFormation generate (GenerateSecretString): a random value of the
        length asked for, letters and digits (the tracking key)."""
        created = []
        secrets_manager = self.client("secretsmanager")
        for name, resource in template.resources(dict(document), "AWS::SecretsManager::Secret").items():
            generate = (resource.get("Properties") or {}).get("GenerateSecretString")
            if not self._wanted(resource, resolver) or not isinstance(generate, Mapping):
                continue
            length = int(resolver.resolve(generate.get("PasswordLength", 32)))
            value = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))
            arn = secrets_manager.create_secret(Name=f"{resolver.stack_name}-{name}", SecretString=value)[
                "ARN"
            ]
            resolver.physical[name] = arn
            created.append(f"secret {name}")
        return created

    @staticmethod
    def _wanted(resource: Mapping[str, Any], resolver: Resolver) -> bool:
        condition = resource.get("Condition")
        return condition is None or resolver.condition(str(condition))

    @staticmethod
    def _request(
        client: Any, operation: str, resource: Mapping[str, Any], resolver: Resolver
    ) -> dict[str, Any]:
        renames = _API_NAMES.get(str(resource["Type"]), {})
        props = resolver.resolve(resource.get("Properties", {}))
        props = {renames.get(key, key): value for key, value in props.items()}
        shape = client.meta.service_model.operation_model(operation).input_shape
        request: dict[str, Any] = fit(shape, props)
        return request

    # --- accounts -----------------------------------------------------------------------------------
    def create_account(self, username: str, password: str, account_id: str | None = None) -> Account:
        """A confirmed user of the pool; `account_id` fixes its `sub` (moto would pick a random one)."""
        if self.user_pool_id is None:
            raise RuntimeError("the template declares no user pool")
        cognito = self.client("cognito-idp")
        attributes = []
        if "@" in username:
            attributes = [{"Name": "email", "Value": username}, {"Name": "email_verified", "Value": "true"}]
        cognito.admin_create_user(
            UserPoolId=self.user_pool_id,
            Username=username,
            UserAttributes=attributes,
            MessageAction="SUPPRESS",
        )
        if account_id is not None:
            self._pin_sub(username, account_id)
        cognito.admin_set_user_password(
            UserPoolId=self.user_pool_id, Username=username, Password=password, Permanent=True
        )
        user = cognito.admin_get_user(UserPoolId=self.user_pool_id, Username=username)
        sub = next(item["Value"] for item in user["UserAttributes"] if item["Name"] == "sub")
        return Account(username, password, sub)

    def _pin_sub(self, username: str, sub: str) -> None:
        """Give a new user the `sub` the sample events name. moto keeps its users in this process (its
        server is a thread of it) and offers no call for this, so the user is changed in place; a pool
        that signs in by e-mail names the user by its sub, so the user is re-keyed too."""
        from moto.cognitoidp.models import cognitoidp_backends  # noqa: PLC0415

        pool = cognitoidp_backends[ACCOUNT_ID][REGION].user_pools[str(self.user_pool_id)]
        user = pool._get_user(username)  # moto's lookup by name or by e-mail
        old = user.id
        user.id = sub
        user.update_attributes([{"Name": "sub", "Value": sub}])
        if user.username == old:
            user.username = sub
            pool.users[sub] = pool.users.pop(old)
