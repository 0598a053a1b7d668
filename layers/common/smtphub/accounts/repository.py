"""The user pool (Cognito) and the accounts table (DynamoDB).

**The pool.** The app client allows `ALLOW_ADMIN_USER_PASSWORD_AUTH` (and refresh), not
`ALLOW_USER_PASSWORD_AUTH`: password logins go through `AdminInitiateAuth`, an IAM-authorized call that only
the login function's role may make (`cognito-idp:AdminInitiateAuth` on this one pool). With plain
`USER_PASSWORD_AUTH` anyone holding the (public) client id could try passwords against Cognito directly,
around this API's throttling; the admin flow also lets the function hand Cognito the caller's IP address for
threat protection. The password is passed to Cognito and nowhere else: never logged, never kept.

**The accounts table.** Key `pk` (S). Item `account#<sub>` holds `revokedBefore` (N, epoch seconds): the
authorizer refuses every token of the account whose `auth_time` is earlier (functions/authorizer/app.py
reads it without this package). `expires` (N, the table's TTL attribute) lets DynamoDB drop the item once
every token it could refuse has expired anyway. The same table holds the check limiter's counters
(`smtphub.accounts.limits`).

Cognito's and DynamoDB's answers become domain errors here, matched by error code (`smtphub.aws.error_code`);
the HTTP edge turns them into the contract's statuses.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from smtphub.aws import LazyClient, error_code
from smtphub.errors import LoginRefused, RateLimited

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_cognito_idp.type_defs import AdminInitiateAuthRequestTypeDef
    from mypy_boto3_dynamodb import DynamoDBClient

AUTH_FLOW: Final = "ADMIN_USER_PASSWORD_AUTH"
LOGIN_PATH = "/auth/login"
WRONG_CREDENTIALS = "Incorrect username or password"
NEW_PASSWORD_REQUIRED = "NEW_PASSWORD_REQUIRED"  # noqa: S105 - Cognito's challenge name  # nosec B105

# Cognito error code -> the refusal's message. NotAuthorized covers a wrong password, a disabled user, a
# sign-in blocked by threat protection and too many failed attempts: all the same to the caller.
_REFUSED = {
    "NotAuthorizedException": WRONG_CREDENTIALS,
    "UserNotFoundException": WRONG_CREDENTIALS,  # only when the pool does not hide unknown users
    "UserNotConfirmedException": "This account is not confirmed yet",
    "PasswordResetRequiredException": "This account's password was reset: an administrator must set one",
}
_THROTTLED = frozenset({"TooManyRequestsException", "LimitExceededException"})
LOGIN_RETRY_AFTER = 1  # seconds: Cognito gives no hint, the API's own login throttle is per second

ACCOUNT_PREFIX = "account#"
# Cognito's longest ID token validity (the template's TokenValidityHours is at most 24), plus an hour: past
# that, every token a revocation can refuse has expired by itself and the item may go.
REVOCATION_KEPT_SECONDS = 25 * 3600
_CONDITION_FAILED = "ConditionalCheckFailedException"


class CognitoRepository(LazyClient["CognitoIdentityProviderClient"]):
    """The user pool and the API's app client. `client` builds the Cognito client, on first use: the
    logout function, which never calls Cognito, never builds one."""

    def __init__(
        self, client: Callable[[], CognitoIdentityProviderClient], user_pool_id: str, client_id: str
    ) -> None:
        super().__init__(client)
        self.user_pool_id = user_pool_id
        self.client_id = client_id

    def authenticate(self, username: str, password: str, source_ip: str | None = None) -> str:
        """The ID token of a correct username and password; LoginRefused or RateLimited otherwise."""
        request: AdminInitiateAuthRequestTypeDef = {
            "UserPoolId": self.user_pool_id,
            "ClientId": self.client_id,
            "AuthFlow": AUTH_FLOW,
            "AuthParameters": {"USERNAME": username, "PASSWORD": password},
        }
        if source_ip:
            # What threat protection judges the sign-in by (otherwise it would see the function's address).
            request["ContextData"] = {
                "IpAddress": source_ip,
                "ServerName": os.environ.get("POWERTOOLS_SERVICE_NAME", "smtp-hub"),
                "ServerPath": LOGIN_PATH,
                "HttpHeaders": [],
            }
        try:
            answer = self.client.admin_initiate_auth(**request)
        except ClientError as error:
            code = error_code(error)
            if code in _REFUSED:
                raise LoginRefused(_REFUSED[code]) from None
            if code in _THROTTLED:
                raise RateLimited(
                    "Too many login attempts; retry later", retry_after=LOGIN_RETRY_AFTER
                ) from None
            raise
        challenge: str | None = answer.get("ChallengeName")
        if challenge == NEW_PASSWORD_REQUIRED:
            raise LoginRefused(
                "This account still has its temporary password: an administrator must set a permanent one",
                challenge=NEW_PASSWORD_REQUIRED,
            )
        if challenge:
            raise LoginRefused(
                "This account needs a sign-in step this API does not offer", challenge=str(challenge)
            )
        result: Any = answer.get("AuthenticationResult") or {}
        token = result.get("IdToken")
        if not token:
            raise RuntimeError("Cognito answered without an ID token")
        return str(token)


class AccountsRepository(LazyClient["DynamoDBClient"]):
    """The accounts table: per-account state the authorizer reads (`revokedBefore`). `client` builds the
    DynamoDB client, on first use: the login function, which never writes the table, never builds one."""

    def __init__(self, client: Callable[[], DynamoDBClient], table: str) -> None:
        super().__init__(client)
        self.table = table

    @staticmethod
    def key(account_id: str) -> str:
        return ACCOUNT_PREFIX + account_id

    def revoke_tokens_before(self, account_id: str, revoked_before: int) -> None:
        """From now on the authorizer refuses the account's tokens with `auth_time` < `revoked_before`.

        Never moves the time back: a later revocation (another logout, an administrator's) that is already
        stored stays as it is.
        """
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": self.key(account_id)}},
                UpdateExpression="SET #before = :before, #expires = :expires",
                ConditionExpression="attribute_not_exists(#before) OR #before < :before",
                ExpressionAttributeNames={"#before": "revokedBefore", "#expires": "expires"},
                ExpressionAttributeValues={
                    ":before": {"N": str(revoked_before)},
                    ":expires": {"N": str(revoked_before + REVOCATION_KEPT_SECONDS)},
                },
            )
        except ClientError as error:
            if error_code(error) != _CONDITION_FAILED:
                raise

    def revoked_before(self, account_id: str) -> int | None:
        """The stored `revokedBefore` of the account, None when its tokens were never revoked."""
        item = self.client.get_item(
            TableName=self.table,
            Key={"pk": {"S": self.key(account_id)}},
            ProjectionExpression="#before",
            ExpressionAttributeNames={"#before": "revokedBefore"},
            ConsistentRead=True,
        ).get("Item")
        value = (item or {}).get("revokedBefore", {}).get("N")
        return math.ceil(float(value)) if value is not None else None
