"""Accounts API: POST /login, GET/PUT/POST /user, GET /participant."""

from typing import Annotated, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, Field, StrictBool, StrictStr

from etp.accounts import attempts
from etp.accounts import service as accounts
from etp.clock import utcnow
from etp.edge import callers, contract, retries, web
from etp.settings import settings

logger = Logger()
metrics = Metrics()
router = APIGatewayRouter()

# pydantic matches with Rust's regex, where `$` is the true end (no trailing newline); the pattern is
# published in openapi.json, whose ECMA-262 patterns have no `\A`/`\Z`.
Account = Annotated[StrictStr, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.@-]+$")]
Password = Annotated[StrictStr, Field(min_length=1, max_length=256)]
NewPassword = Annotated[StrictStr, Field(min_length=8, max_length=256)]
Text = Annotated[StrictStr, Field(max_length=2048)]


class LoginRequest(BaseModel):
    account: Account
    password: Password


class LoginResponse(contract.Answer):
    id: str
    bearer: str
    is_aggregator: bool


class ChangePasswordRequest(BaseModel):
    original_passwd: Password
    new_passwd: NewPassword


class CreateUserRequest(BaseModel):
    account: Account
    username: Annotated[StrictStr, Field(min_length=1, max_length=80)]
    password: NewPassword
    is_aggregator: StrictBool = False
    address: Text = ""
    avatar: Text = ""
    eth_address: Annotated[StrictStr, Field(max_length=80)] = ""


class UserProfile(contract.Answer):
    account: str
    username: str
    avatar: str
    balance: float
    address: str
    eth_address: str
    is_aggregator: bool


class Participant(contract.Answer):
    id: str
    name: str


class PasswordChanged(contract.Answer):
    message: Literal["Accept."]
    bearer: str = Field(description="a fresh bearer of the caller's session")


class WrongOriginalPassword(contract.Answer):
    message: Literal["Reject."]


class AccountCreated(contract.Answer):
    message: Literal["Account created"]


@router.post(
    "/login",
    summary="Log in; returns a bearer valid for 24 h (no token needed)",
    security=[],
    responses=contract.answers((200, "Logged in", LoginResponse), 400, 401, 429),
)
def login(body: Annotated[LoginRequest, Body()]):
    user, bearer = accounts.login(
        callers.user_store(), body.account, body.password, callers.issue_token, gate=login_gate()
    )
    logger.append_keys(user_id=user.id)
    logger.info("login")
    return LoginResponse(id=user.id, bearer=bearer, is_aggregator=user.is_aggregator).model_dump()


@router.get("/user", summary="The caller's profile", responses=contract.answers((200, "Profile", UserProfile), 401))
def get_user() -> UserProfile:
    return UserProfile(**accounts.profile(callers.caller(router)))


@router.put(
    "/user",
    summary="Change the caller's password; signs out the caller's other sessions",
    responses=contract.answers(
        (200, "Changed", PasswordChanged), 400, 401, bad_request=contract.BadRequest | WrongOriginalPassword
    ),
)
def change_password(body: Annotated[ChangePasswordRequest, Body()]):
    user = callers.caller(router)
    bearer = accounts.change_password(
        callers.user_store(), user, callers.session(router), body.original_passwd, body.new_passwd, callers.issue_token
    )
    logger.info("password changed", extra={"user_id": user.id})
    return {"message": "Accept.", "bearer": bearer}


@router.post(
    "/user",
    summary="Create an account (aggregators only)",
    responses=contract.answers((201, "Account created", AccountCreated), 400, 401, 403, 409, idempotent=True),
    middlewares=[retries.idempotent],  # the Idempotency-Key: declared by the parameter, acted on here
)
def create_user(body: Annotated[CreateUserRequest, Body()], idempotency_key: retries.IdempotencyKey = None):
    spec = accounts.NewAccount(**body.model_dump())
    created = accounts.create_account(callers.user_store(), callers.caller(router), spec, utcnow())
    logger.info("account created", extra={"user_id": created.id})
    return contract.json_response(201, {"message": "Account created"})


@router.get(
    "/participant",
    summary="Every account's id and name",
    responses=contract.answers((200, "Participants", list[Participant]), 401),
)
def list_participants() -> list[Participant]:
    return [Participant(**p) for p in accounts.participants(callers.user_store())]


def login_gate() -> attempts.LoginGate:
    """The login policy for this request: its source is API Gateway's view of the caller's address."""
    from etp.accounts.attempts_store import DynamoLoginAttempts  # PynamoDB on first use, not at import

    identity = (router.current_event.raw_event.get("requestContext") or {}).get("identity") or {}
    return attempts.LoginGate(
        store=DynamoLoginAttempts(),
        policy=attempts.Policy.from_settings(settings()),
        source=attempts.source_key(identity.get("sourceIp")),
        now=int(utcnow().timestamp()),
    )


def login_refused(_: accounts.InvalidCredentials) -> Response:
    metrics.add_metric(name="LoginFailed", unit=MetricUnit.Count, value=1)
    logger.info("login refused")
    return contract.json_response(401, contract.UNAUTHORIZED)


def login_throttled(error: attempts.TooManyAttempts) -> Response:
    """429 with Retry-After (whole seconds), readable by a browser front end (exposed through CORS)."""
    metrics.add_metric(name="LoginThrottled", unit=MetricUnit.Count, value=1)
    logger.info("login throttled", extra={"retry_after": error.retry_after})
    headers = {"Retry-After": str(error.retry_after), "Access-Control-Expose-Headers": "Retry-After"}
    return contract.json_response(429, contract.TOO_MANY_ATTEMPTS, headers)


app = web.make_resolver(
    errors={
        accounts.InvalidCredentials: login_refused,
        attempts.TooManyAttempts: login_throttled,
        accounts.WrongOriginalPassword: lambda _: contract.json_response(400, {"message": "Reject."}),
        accounts.NotAllowed: lambda _: contract.json_response(403, contract.FORBIDDEN),
        accounts.AccountExists: lambda _: contract.json_response(409, {"error": "Account already exists"}),
    }
)
app.include_router(router)
lambda_handler = web.api_handler(app, public=frozenset({("POST", "/login")}))
