"""JWT auth for mobile clients, path- and JSON-compatible with the original Node service (camelCase)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.forms import PASSWORD_MAX_LENGTH
from accounts.services import (
    auth_token_revoke,
    auth_tokens_issue,
    auth_tokens_refresh,
    email_verification_send,
    user_authenticate,
    user_create,
)
from accounts.throttles import AUTH_ADDRESS_THROTTLES, account_login_wait, verify_email_resend_wait
from core.schema import ErrorSerializer
from core.throttles import LimitsInOneRoundTrip

TAGS = ["auth"]
TOKEN_MAX_LENGTH = 4096


# --- Serializers ------------------------------------------------------------------------------------


class PasswordField(serializers.CharField):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", PASSWORD_MAX_LENGTH)
        super().__init__(write_only=True, trim_whitespace=False, style={"input_type": "password"}, **kwargs)


class RegisterInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = PasswordField(
        min_length=8,
        help_text="At least 8 characters, not entirely numeric, not a common password, not like your "
        "name or e-mail (VALIDATION_ERROR otherwise).",
    )
    firstName = serializers.CharField(source="first_name", max_length=150)
    lastName = serializers.CharField(source="last_name", max_length=150)


class LoginInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = PasswordField()


class RefreshTokenInputSerializer(serializers.Serializer):
    refreshToken = serializers.CharField(source="refresh_token", max_length=TOKEN_MAX_LENGTH)


class UserOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    firstName = serializers.CharField(source="first_name")
    lastName = serializers.CharField(source="last_name")
    emailVerified = serializers.BooleanField(
        source="email_verified", help_text="Joining a queue needs a verified address."
    )


class VerificationResendOutputSerializer(serializers.Serializer):
    sent = serializers.BooleanField(help_text="False: the address is already verified.")


class AuthTokensOutputSerializer(serializers.Serializer):
    accessToken = serializers.CharField(source="access")
    refreshToken = serializers.CharField(source="refresh")
    tokenType = serializers.CharField(source="token_type", help_text="Always `Bearer`.")
    expiresIn = serializers.IntegerField(
        source="expires_in", help_text="Seconds until the access token expires."
    )


class AuthSessionOutputSerializer(AuthTokensOutputSerializer):
    user = UserOutputSerializer()


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


_THROTTLED = _error(
    "RATE_LIMITED: too many attempts for this account or from this address; see the Retry-After header."
)
_INVALID = _error("VALIDATION_ERROR: `details` maps each invalid field to its messages.")


# --- Views ------------------------------------------------------------------------------------------


class _PublicAuthApi(LimitsInOneRoundTrip, APIView):
    # No authentication at all: a stale or broken Authorization header must not stop a log-in.
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = AUTH_ADDRESS_THROTTLES
    throttle_scope = "auth"

    def check_throttles(self, request: Request) -> None:
        # A method this view does not have is a 405, whatever the rate.
        if request.method and hasattr(self, request.method.lower()):
            super().check_throttles(request)


class RegisterApi(_PublicAuthApi):
    @extend_schema(
        tags=TAGS,
        operation_id="auth_register",
        summary="Create an account and log in",
        description="Also mails a link that verifies the address (needed to join a queue).",
        request=RegisterInputSerializer,
        responses={
            201: AuthSessionOutputSerializer,
            400: _INVALID,
            409: _error("EMAIL_TAKEN: an account with this e-mail address (in any letter case) exists."),
            429: _THROTTLED,
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = user_create(**serializer.validated_data, site_url=request.build_absolute_uri("/"))
        tokens = auth_tokens_issue(user=user)
        return Response(AuthSessionOutputSerializer(tokens).data, status=status.HTTP_201_CREATED)


class LoginApi(_PublicAuthApi):
    @extend_schema(
        tags=TAGS,
        operation_id="auth_login",
        summary="Log in with e-mail and password",
        request=LoginInputSerializer,
        responses={
            200: AuthSessionOutputSerializer,
            400: _INVALID,
            401: _error("INVALID_CREDENTIALS: wrong password, unknown e-mail or inactive account."),
            429: _THROTTLED,
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = LoginInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        wait = account_login_wait(serializer.validated_data["email"])
        if wait is not None:
            self.throttled(request, wait)
        user = user_authenticate(request=request, **serializer.validated_data)
        tokens = auth_tokens_issue(user=user)
        return Response(AuthSessionOutputSerializer(tokens).data)


class RefreshApi(_PublicAuthApi):
    @extend_schema(
        tags=TAGS,
        operation_id="auth_refresh",
        summary="Trade a refresh token for a new token pair",
        description="The refresh token sent is revoked (rotation): it can be used once.",
        request=RefreshTokenInputSerializer,
        responses={
            200: AuthTokensOutputSerializer,
            400: _INVALID,
            401: _error("TOKEN_INVALID: not a refresh token, expired, revoked or already used."),
            429: _THROTTLED,
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = RefreshTokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tokens = auth_tokens_refresh(**serializer.validated_data)
        return Response(AuthTokensOutputSerializer(tokens).data)


class LogoutApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS,
        operation_id="auth_logout",
        summary="Log out this device",
        description="Revokes the given refresh token. The access token stays valid until it expires.",
        request=RefreshTokenInputSerializer,
        responses={
            204: OpenApiResponse(description="The refresh token is revoked."),
            400: _INVALID,
            401: _error("Not authenticated, or TOKEN_INVALID: the refresh token is invalid or not yours."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = RefreshTokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        auth_token_revoke(user=request.user, **serializer.validated_data)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProfileApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS,
        operation_id="auth_profile",
        summary="The logged-in user",
        responses={200: UserOutputSerializer, 401: _error("NOT_AUTHENTICATED or AUTHENTICATION_FAILED.")},
    )
    def get(self, request: Request) -> Response:
        return Response(UserOutputSerializer(request.user).data)


class VerifyEmailResendApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=TAGS,
        operation_id="auth_verify_email_resend",
        summary="Mail a new e-mail verification link",
        description="Joining a queue answers 403 EMAIL_NOT_VERIFIED until the fan opens the link. "
        "Limited per fan (THROTTLE_VERIFY_EMAIL_RESEND, 3 an hour by default).",
        request=None,
        responses={
            202: VerificationResendOutputSerializer,
            401: _error("NOT_AUTHENTICATED or AUTHENTICATION_FAILED."),
            429: _THROTTLED,
        },
    )
    def post(self, request: Request) -> Response:
        wait = verify_email_resend_wait(request.user.pk)
        if wait is not None:
            self.throttled(request, wait)
        sent = email_verification_send(user=request.user, site_url=request.build_absolute_uri("/"))  # type: ignore[arg-type]
        return Response({"sent": sent}, status=status.HTTP_202_ACCEPTED)
